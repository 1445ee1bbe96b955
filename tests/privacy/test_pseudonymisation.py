"""Pseudonymisation at ingest: keyed hashes in every table, the key outside the workspace."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mallseg.cli.main import app
from mallseg.core.pseudonyms import KEY_ENV_VAR, key_file_path, load_key
from mallseg.data.errors import IngestError
from mallseg.data.ingest import ingest_file
from mallseg.privacy import find_in_folder
from mallseg.workspace import Workspace

CUSTOMERS = (
    "CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n"
    "C001,Male,19,15,39\nC002,Female,21,15,81\nC003,Female,150,16,6\nC004,Male,23,16,77\n"
)
VISITS = ("customer_id,entered_at,left_at\n"
          "C001,2026-01-02 10:00,2026-01-02 11:00\nC002,2026-01-03 12:00,2026-01-03 12:30\n"
          "C999,2026-01-03 12:00,2026-01-03 12:30\n")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "c.csv").write_text(CUSTOMERS)
    (tmp_path / "v.csv").write_text(VISITS)
    return tmp_path / "c.csv", tmp_path / "v.csv"


def test_ids_are_replaced_by_keyed_hashes_everywhere(tmp_path: Path, files) -> None:
    customers, visits = files
    with Workspace.open(tmp_path / "ws") as ws:
        report = ingest_file(ws, "customers", customers)
        ingest_file(ws, "visits", visits)
        key = load_key(ws.folder)
        assert key is not None
        con = ws.connection
        held = {r[0] for r in con.execute("SELECT customer_id FROM customers").fetchall()}
        assert held == {key.pseudonym(c) for c in ("C001", "C002", "C004")}
        visited = {r[0] for r in con.execute("SELECT customer_id FROM visits").fetchall()}
        assert visited == {key.pseudonym("C001"), key.pseudonym("C002")}
        # the rejected rows quote the pseudonym, never the raw id
        quarantine = con.execute("SELECT reason, raw_record FROM quarantine ORDER BY 1"
                                 ).fetchall()
        assert json.loads(quarantine[0][1])["CustomerID"] == key.pseudonym("C003")
        assert f"'{key.pseudonym('C999')}' is not in customers" in quarantine[1][0]
    assert report.customer_ids == "pseudonymised"
    # nothing in the workspace folder holds a raw id; the key lives beside it, owner-only
    assert find_in_folder(tmp_path / "ws", ["C001", "C002", "C003", "C999"]) == {}
    key_file = key_file_path(tmp_path / "ws")
    assert key_file.parent == tmp_path
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_the_same_key_gives_the_same_pseudonyms_so_a_reload_adds_nothing(tmp_path, files):
    customers, _ = files
    with Workspace.open(tmp_path / "ws") as ws:
        ingest_file(ws, "customers", customers)
        again = ingest_file(ws, "customers", customers)
    assert (again.rows_new, again.rows_unchanged) == (0, 3)


def test_a_different_key_is_refused_instead_of_splitting_customers(
        tmp_path, files, monkeypatch) -> None:
    customers, _ = files
    with Workspace.open(tmp_path / "ws") as ws:
        ingest_file(ws, "customers", customers)
        monkeypatch.setenv(KEY_ENV_VAR, "another secret of enough length")
        with pytest.raises(IngestError, match="not the key this workspace"):
            ingest_file(ws, "customers", customers)


def test_a_key_file_readable_by_others_is_refused(tmp_path, files) -> None:
    customers, _ = files
    with Workspace.open(tmp_path / "ws") as ws:
        ingest_file(ws, "customers", customers)
        os.chmod(key_file_path(tmp_path / "ws"), 0o644)
        with pytest.raises(IngestError, match="chmod 600"):
            ingest_file(ws, "customers", customers)


def test_the_id_map_is_kept_only_when_asked_and_only_outside_the_workspace(tmp_path, files):
    customers, _ = files
    with Workspace.open(tmp_path / "ws") as ws:
        with pytest.raises(IngestError, match="outside the workspace folder"):
            ingest_file(ws, "customers", customers, keep_id_map=tmp_path / "ws" / "ids.csv")
        ingest_file(ws, "customers", customers, keep_id_map=tmp_path / "ids.csv")
        key = load_key(ws.folder)
    assert key is not None
    lines = (tmp_path / "ids.csv").read_text().splitlines()
    assert lines[0] == "customer_id,pseudonym"
    assert f"C001,{key.pseudonym('C001')}" in lines
    assert stat.S_IMODE((tmp_path / "ids.csv").stat().st_mode) == 0o600


def test_a_workspace_can_keep_ids_as_given(tmp_path, files, monkeypatch) -> None:
    monkeypatch.setenv("MALLSEG_PSEUDONYMISE", "0")
    customers, _ = files
    with Workspace.open(tmp_path / "ws") as ws:
        report = ingest_file(ws, "customers", customers)
        held = {r[0] for r in ws.connection.execute("SELECT customer_id FROM customers"
                                                    ).fetchall()}
    assert report.customer_ids == "as given"
    assert held == {"C001", "C002", "C004"}
    assert not key_file_path(tmp_path / "ws").exists()


def test_the_cli_translates_a_raw_id_with_the_key_and_refuses_without(tmp_path, files):
    customers, _ = files
    with Workspace.open(tmp_path / "ws") as ws:
        ingest_file(ws, "customers", customers)
        key = load_key(ws.folder)
    assert key is not None
    runner = CliRunner()
    shown = runner.invoke(app, ["pseudonym", "C002", "--workspace", str(tmp_path / "ws")])
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip() == key.pseudonym("C002")
    key_file_path(tmp_path / "ws").rename(tmp_path / "elsewhere.key")
    refused = runner.invoke(app, ["pseudonym", "C002", "--workspace", str(tmp_path / "ws")])
    assert refused.exit_code == 2
    assert "give the pseudonym instead" in refused.output
