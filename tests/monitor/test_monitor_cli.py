"""The monitoring commands as a user meets them: verdicts in words, files written, one-line
errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from mallseg.cli.main import app
from mallseg.data.ingest import ingest_file
from mallseg.workspace import Workspace


def mallseg(workspace: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--workspace", str(workspace), *args])


@pytest.fixture
def workspace(customer_workspace: Any, tmp_path: Path) -> Path:
    return customer_workspace.copy(tmp_path / "ws")


def test_monitor_without_new_customers_says_there_is_nothing_to_compare(workspace: Path
                                                                        ) -> None:
    done = mallseg(workspace, "monitor")
    assert done.exit_code == 0, done.output
    assert done.output.strip() == ("Run 0001: stable — no customers loaded since run 0001: "
                                   "nothing to compare yet")


def test_monitor_prints_the_verdict_and_its_reasons_then_refits_keeping_names(
    workspace: Path, customer_workspace: Any, tmp_path: Path,
) -> None:
    with Workspace.open(workspace) as ws:
        ingest_file(ws, "customers", customer_workspace.planted)
    checked = mallseg(workspace, "monitor", "--resamples", "0", "--json")
    assert checked.exit_code == 0, checked.output
    result = json.loads(checked.output)
    assert result["verdict"] == "refit due" and result["monitor_run_id"] == "0002"
    assert result["report"]["current_size"] == 500

    done = mallseg(workspace, "monitor", "--resamples", "0", "--refit-if-due")
    assert done.exit_code == 0, done.output
    assert "Verdict: REFIT DUE" in done.output
    assert "major: The segment mix moved by" in done.output
    assert "Recorded as monitor run 0003." in done.output
    assert "Refitted as run 0004 (from 0001):" in done.output
    assert "kept: " in done.output

    moved = tmp_path / "movers.csv"
    migrated = mallseg(workspace, "migration", "--export", str(moved))
    assert migrated.exit_code == 0, migrated.output
    assert "From run 0001 to run 0004: " in migrated.output
    assert "500 joined, 0 left." in migrated.output
    movers = pd.read_csv(moved)
    assert len(movers) >= 500 and (movers["customer_id"].str[0] == "P").sum() == 500

    listed = mallseg(workspace, "models", "list")
    assert listed.exit_code == 0, listed.output
    rows = [line for line in listed.output.splitlines() if "0001" in line or "0004" in line]
    assert len(rows) == 2 and "refit" in rows[1] and "yes" in rows[1]

    back = mallseg(workspace, "models", "rollback", "0001")
    assert back.exit_code == 0, back.output
    assert back.output.startswith("Run 0005 is now current: the model and names of run 0001 "
                                  "(replacing 0004).")


def test_update_replaces_the_customers_of_an_ingest(workspace: Path,
                                                    customer_workspace: Any) -> None:
    with Workspace.open(workspace) as ws:
        ingest_file(ws, "customers", customer_workspace.alike)
    done = mallseg(workspace, "monitor", "--update", "latest")
    assert done.exit_code == 0, done.output
    assert done.output.startswith("Re-placed 1,200 customers touched by ingest ")
    assert done.output.rstrip().endswith("with run 0001 (0 changed segment).")
    with Workspace.open(workspace, read_only=True) as ws:
        assert ws.table_count("live_assignments") == 1200


@pytest.mark.parametrize(("args", "message"), [
    (("monitor", "--update", "ingest-0"), "--update ingest-0: no completed ingest of that id"),
    (("models", "rollback", "0001"), "run 0001 is the current version already"),
    (("models", "rollback", "7"), "no segment run '7'"),
    (("monitor", "--run", "0009"), "no segment run '0009'"),
    (("monitor", "--schedule", "soon"), "interval 'soon': expected a number and a unit"),
    (("migration",), "run 0001 is the first segmentation: nothing to compare it with"),
    (("migration", "--from", "0001", "--flow", "x"), "--flow 'x': expected FROM:TO"),
])
def test_bad_requests_end_with_one_line_and_exit_code_2(workspace: Path, args: tuple[str, ...],
                                                       message: str) -> None:
    done = mallseg(workspace, *args)
    assert done.exit_code == 2
    assert message in " ".join(done.output.split())
    assert "Traceback" not in done.output


def test_a_schedule_runs_the_check_each_round(workspace: Path) -> None:
    done = mallseg(workspace, "monitor", "--schedule", "1d", "--times", "1")
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == [
        "checking every 1d; stop with Ctrl-C",
        "Run 0001: stable — no customers loaded since run 0001: nothing to compare yet"]
