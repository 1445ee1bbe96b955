"""``mallseg report``: writes the file and prints its path; bad input is one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mallseg.cli.main import app


def test_the_command_writes_the_file_and_prints_its_path(mall_workspace: Path,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "out" / "segments.html"
    done = subprocess.run(
        [sys.executable, "-m", "mallseg", "report", "--out", str(out), "--workspace",
         str(mall_workspace)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "Traceback" not in done.stderr


def test_the_default_file_goes_into_the_workspace(mall_workspace: Path) -> None:
    done = CliRunner().invoke(app, ["--workspace", str(mall_workspace), "report", "--run",
                                    "0001"])
    assert done.exit_code == 0, done.output
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path == mall_workspace.resolve() / "reports" / "report-run-0001.html"
    assert path.stat().st_size > 1_000_000


def test_an_unknown_run_or_workspace_is_one_line_and_exit_2(mall_workspace: Path,
                                                            tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["report", "--run", "0042", "--workspace", str(mall_workspace)])
    assert done.exit_code == 2
    assert done.stderr.strip().endswith("known segment runs: 0001")
    done = runner.invoke(app, ["report", "--workspace", str(tmp_path / "nowhere")])
    assert done.exit_code == 2
    assert "no mallseg.duckdb here" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = runner.invoke(app, ["report", "--out", str(tmp_path), "--workspace",
                               str(mall_workspace)])
    assert done.exit_code == 2 and "is a folder, expected an HTML file" in done.stderr
