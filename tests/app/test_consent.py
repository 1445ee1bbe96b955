"""Marketing consent decides who is on target lists and in recommendation exports.

The fixture is a small simulated mall whose customers file carries consent as an ``opt_in``
column (yes / no / empty), recognised through the column mapping; each customer's consent is
read back from the workspace (whose ids are the ones exports carry). Every command runs as the
real ``mallseg`` in a subprocess, as a user runs it, so the module takes about a minute: what
is tested is the exported file and the message a user reads.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest


def _mallseg(workspace: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mallseg", "--workspace", str(workspace), *args],
                          capture_output=True, text=True, timeout=300, cwd=workspace.parent)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def mall(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A segmented workspace and the consent each customer was loaded with."""
    folder = tmp_path_factory.mktemp("consent")
    _mallseg(folder / "ws", "simulate", "--customers", "800", "--days", "120", "--seed", "3",
             "--out", str(folder / "sim"))
    inputs = folder / "in"
    inputs.mkdir()
    for table in ("stores", "campaigns", "visits", "transactions", "exposures"):
        (inputs / table).symlink_to(folder / "sim" / "inputs" / table)
    customers = pd.read_parquet(folder / "sim" / "inputs" / "customers")
    answer = customers.pop("consent_marketing").map({True: "yes", False: "no"})
    answer[customers.index % 5 == 0] = ""
    customers["opt_in"] = answer
    customers.to_csv(inputs / "customers.csv", index=False)
    out = _mallseg(folder / "ws", "ingest", "all", str(inputs))
    assert "opt_in -> consent_marketing" in out
    _mallseg(folder / "ws", "segment", "--method", "rfm")
    with duckdb.connect(str(folder / "ws" / "mallseg.duckdb"), read_only=True) as con:
        consent = con.execute("""
            SELECT customer_id, CASE WHEN consent_marketing THEN 'yes'
                WHEN NOT consent_marketing THEN 'no' ELSE 'unknown' END AS consent
            FROM customers""").df()
    assert (consent["consent"].value_counts().to_dict()
            == answer.replace({"": "unknown"}).value_counts().to_dict())
    return folder, consent


def _left_out(message: str) -> int:
    found = re.search(r"([\d,]+) customers left out for want of marketing consent", message)
    assert found, message
    return int(found.group(1).replace(",", ""))


def _segmented(workspace: Path) -> set[str]:
    with duckdb.connect(str(workspace / "mallseg.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT customer_id FROM segment_assignments").fetchall()
    return {str(r[0]) for r in rows}


def test_target_list_holds_only_customers_who_agreed(mall: tuple[Path, pd.DataFrame]) -> None:
    folder, consent = mall
    message = _mallseg(folder / "ws", "export", "targets", "--share", "1.0",
                       "--out", str(folder / "targets.csv"))
    listed = set(pd.read_csv(folder / "targets.csv", dtype=str)["customer_id"])
    by_answer = consent.set_index("customer_id")["consent"]
    segmented = _segmented(folder / "ws")
    agreed = {c for c in segmented if by_answer[c] == "yes"}
    assert listed == agreed
    assert _left_out(message) == len(segmented) - len(agreed)
    assert "rule opt_in" in message


def test_recommendation_export_leaves_out_refusals_and_unknowns(
    mall: tuple[Path, pd.DataFrame],
) -> None:
    folder, consent = mall
    message = _mallseg(folder / "ws", "export", "recommendations",
                       "--out", str(folder / "recs.csv"))
    listed = set(pd.read_csv(folder / "recs.csv", dtype=str)["customer_id"])
    answers = consent.set_index("customer_id")["consent"]
    assert listed and {answers[c] for c in listed} == {"yes"}
    served = int(re.search(r"suggestions for ([\d,]+) customers", message)
                 .group(1).replace(",", ""))  # type: ignore[union-attr]
    assert served == len(listed)
    assert served + _left_out(message) == int((answers.index.isin(_segmented(folder / "ws"))
                                               ).sum())


def test_not_refused_lets_unknowns_in_but_never_refusals(
    mall: tuple[Path, pd.DataFrame],
) -> None:
    folder, consent = mall
    workspace = folder / "ws"
    assert "opt_in -> not_refused" in _mallseg(workspace, "settings", "set",
                                                "marketing_consent", "not_refused")
    try:
        message = _mallseg(workspace, "export", "recommendations",
                           "--out", str(folder / "recs-not-refused.csv"))
    finally:
        _mallseg(workspace, "settings", "set", "marketing_consent", "opt_in")
    listed = set(pd.read_csv(folder / "recs-not-refused.csv", dtype=str)["customer_id"])
    answers = consent.set_index("customer_id")["consent"]
    seen = pd.Series([answers[c] for c in listed]).value_counts()
    assert seen.get("no", 0) == 0 and seen["unknown"] > 0 and seen["yes"] > 0
    refused_segmented = sum(answers[c] == "no" for c in _segmented(workspace))
    assert _left_out(message) == refused_segmented


def test_an_unknown_setting_value_is_one_clear_line(mall: tuple[Path, pd.DataFrame]) -> None:
    folder, _ = mall
    done = subprocess.run([sys.executable, "-m", "mallseg", "--workspace", str(folder / "ws"),
                           "settings", "set", "marketing_consent", "maybe"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: marketing_consent='maybe': expected one of "
                                   "opt_in, not_refused")


def test_one_customer_without_consent_gets_no_recommendations(
    mall: tuple[Path, pd.DataFrame],
) -> None:
    folder, consent = mall
    answers = consent.set_index("customer_id")["consent"]
    segmented = _segmented(folder / "ws")
    refused = next(c for c in segmented if answers[c] == "no")
    agreed = next(c for c in segmented if answers[c] == "yes")
    done = subprocess.run([sys.executable, "-m", "mallseg", "--workspace", str(folder / "ws"),
                           "recommend", "--customer", refused],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "no recorded marketing consent" in done.stderr and refused in done.stderr
    assert "1." in _mallseg(folder / "ws", "recommend", "--customer", agreed)
