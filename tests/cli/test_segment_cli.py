"""The segmentation commands as a new user meets them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def mallseg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mallseg", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_help_and_version_load_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "import mallseg.cli.main\n"
        "heavy = [m for m in ('duckdb', 'pandas', 'numpy', 'sklearn', 'scipy', 'pyarrow') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == ""
    version = subprocess.run([sys.executable, "-m", "mallseg", "--version"],
                             capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith("mallseg ")


def test_status_on_a_folder_without_a_workspace_says_so_and_creates_nothing(
    tmp_path: Path,
) -> None:
    result = mallseg("status", "--workspace", str(tmp_path / "none"), cwd=tmp_path)
    assert result.returncode == 2
    assert "no workspace yet" in result.stderr
    assert not (tmp_path / "none").exists() or not any((tmp_path / "none").iterdir())


def test_a_fixed_k_that_breaks_the_size_rule_proposes_the_min_share_that_passes(
    tmp_path: Path,
) -> None:
    ws = str(tmp_path / "ws")
    assert mallseg("ingest", "customers", "--sample", "classic", "--workspace", ws,
                   cwd=tmp_path).returncode == 0
    result = mallseg("segment", "--lens", "classic", "--k", "8", "--algorithm", "kmeans",
                     "--min-share", "0.1", "--resamples", "2", "--workspace", ws, cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "no candidate is eligible" in lines[0]
    suggested = float(lines[0].split("--min-share ")[1].split()[0])
    assert 0 < suggested < 0.1
    again = mallseg("segment", "--lens", "classic", "--k", "8", "--algorithm", "kmeans",
                    "--min-share", str(suggested), "--resamples", "2", "--workspace", ws,
                    cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "8 segments of 200 customers" in again.stdout


def test_an_unknown_lens_feature_lists_the_valid_names(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    mallseg("ingest", "customers", "--sample", "classic", "--workspace", ws, cwd=tmp_path)
    result = mallseg("segment", "--lens", "age,incme", "--workspace", ws, cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown feature 'incme'" in result.stderr
    assert "annual_income" in result.stderr and "spending_score" in result.stderr


def test_rfm_on_a_transaction_only_export(tmp_path: Path) -> None:
    receipts = tmp_path / "receipts.csv"
    rows = ["InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice"]
    for customer in range(60):
        for visit in range(1 + customer % 7):
            rows.append(f"I{customer}-{visit},C{customer:03d},2011-{1 + visit:02d}-"
                        f"{1 + customer % 27:02d} 10:00,{1 + customer % 5},{2.5 + customer}")
    receipts.write_text("\n".join(rows) + "\n")
    ws = str(tmp_path / "ws")
    loaded = mallseg("ingest", "transactions", str(receipts), "--register-unknown",
                     "--workspace", ws, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    result = mallseg("segment", "--method", "rfm", "--workspace", ws, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "RFM groups" in result.stdout and "Champions" in result.stdout
    assert "Features as of 2011-07-22 10:00 (the latest event in the data)" in result.stdout
