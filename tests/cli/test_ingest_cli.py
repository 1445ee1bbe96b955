"""The ingest command as a user runs it: counts on stdout, one error line, exit codes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mallseg.data.ingest import ingest_file
from mallseg.workspace import Workspace

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def test_sample_ingest_prints_reconciled_counts(run_cli: RunCli) -> None:
    result = run_cli("ingest", "customers", "--sample", "classic")
    assert result.returncode == 0, result.stderr
    assert "read 200 = loaded 200 (new 200, updated 0, unchanged 0) + quarantined 0" in (
        result.stdout
    )
    again = run_cli("ingest", "customers", "--sample", "classic", "--json")
    report = json.loads(again.stdout)
    assert (report["rows_read"], report["rows_new"], report["rows_unchanged"]) == (200, 0, 200)


def test_unusable_file_gives_one_line_and_exit_2(run_cli: RunCli, tmp_path: Path) -> None:
    bad = tmp_path / "people.csv"
    bad.write_text("Kunde,Alter\nA,30\n")
    result = run_cli("ingest", "customers", str(bad))
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "people.csv" in lines[0] and "customer_id" in lines[0] and "--map" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_rows_still_exit_0_and_are_listed(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("customer_id,age\nA,30\nB,abc\n")
    result = run_cli("ingest", "customers", str(path))
    assert result.returncode == 0
    assert "quarantined 1" in result.stdout
    shown = run_cli("quarantine")
    assert "age: 'abc' is not a whole number" in shown.stdout
    export = tmp_path / "rejected.csv"
    run_cli("quarantine", "--export", str(export))
    assert "abc" in export.read_text()


def test_mapping_option_and_bad_mapping(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("Kunde,Alter\nA,30\n")
    ok = run_cli("ingest", "customers", str(path), "--map", "Kunde=customer_id")
    assert ok.returncode == 0 and "Kunde -> customer_id" in ok.stdout
    bad = run_cli("ingest", "customers", str(path), "--map", "Kunde")
    assert bad.returncode == 2 and "expected SOURCE=CANONICAL" in bad.stderr


def test_unknown_table_and_missing_file(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("ingest", "shoppers", str(tmp_path / "x.csv"))
    assert result.returncode == 2 and "unknown table 'shoppers'" in result.stderr
    result = run_cli("ingest", "customers", str(tmp_path / "x.csv"))
    assert result.returncode == 2 and "x.csv: no such file" in result.stderr
    result = run_cli("ingest", "visits", "--sample", "classic")
    assert result.returncode == 2 and "customers table, not visits" in result.stderr


def test_workspace_that_is_a_file_is_refused(run_cli: RunCli, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    result = run_cli("status", workspace=blocker)
    assert result.returncode == 2 and "is a file, expected a folder" in result.stderr


def test_large_csv_streams_in_blocks_with_correct_line_numbers(tmp_path: Path) -> None:
    # ~12 MB: more than one read block, with bad lines before and after the block boundary
    path = tmp_path / "stores.csv"
    with path.open("w") as fh:
        fh.write("store_id,name,category,floor\n")
        for i in range(300_000):
            if i in (5, 250_000):
                fh.write(f"S{i},broken line\n")
            elif i == 260_000:
                fh.write(f"S{i},Store {i:06d} with a fairly long name,apparel,top\n")
            else:
                fh.write(f"S{i},Store {i:06d} with a fairly long name,apparel,{i % 4}\n")
    with Workspace.open(tmp_path / "ws") as ws:
        report = ingest_file(ws, "stores", path)
        assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (
            300_000, 299_997, 3)
        rows = ws.connection.execute(
            "SELECT source_row, reason FROM quarantine ORDER BY source_row"
        ).fetchall()
    assert [r[0] for r in rows] == [7, 250_002, 260_002]
    assert rows[2][1] == "floor: 'top' is not a whole number"


row_values = st.one_of(
    st.integers(min_value=-5, max_value=130).map(str),
    st.sampled_from(["", "abc", "1e3", "45-54", " 30 "]),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["A", "B", "C", "D", ""]), row_values),
                     min_size=1, max_size=30))
def test_counts_always_reconcile(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str]]
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    path = folder / "c.csv"
    path.write_text("customer_id,age\n" + "".join(f"{c},{a}\n" for c, a in rows))
    with Workspace.open(folder / "ws") as ws:
        report = ingest_file(ws, "customers", path)
        stored = ws.table_count("customers")
        quarantined = ws.table_count("quarantine")
    assert report.rows_read == len(rows)
    assert report.rows_read == report.rows_loaded + report.rows_quarantined
    assert quarantined == report.rows_quarantined
    assert stored == report.rows_new == report.rows_loaded
    assert stored == len({c for c, _ in rows if c}) or report.rows_quarantined > 0


def test_markup_in_names_and_values_is_printed_as_text(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "customers [copy].csv"
    path.write_text("customer_id,[/red]note,age\nc1,x,30\nc2,y,[/b]\n")
    result = run_cli("ingest", "customers", str(path))
    assert result.returncode == 0, result.stderr
    assert "[/red]note" in result.stdout and "customers [copy].csv" in result.stdout
    shown = run_cli("quarantine")
    assert shown.returncode == 0 and "[/b]" in shown.stdout


def test_ingest_all_is_all_or_nothing(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "mall"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id\nA\nB\n")
    (folder / "stores.csv").write_text("store_id\nS1\n")
    (folder / "visits.csv").write_text("customer_id,when\nA,2026-01-01\n")
    result = run_cli("ingest", "all", str(folder))
    assert result.returncode == 2 and "visits.entered_at" in result.stderr
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.table_count("customers") == 0
        assert ws.table_count("stores") == 0


def test_nothing_loaded_exits_1_with_the_reason(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text("customer_id,entered_at\nZ,2026-01-01 10:00\n")
    result = run_cli("ingest", "visits", str(path))
    assert result.returncode == 1
    assert "nothing was loaded" in result.stderr
    assert "--register-unknown" in result.stdout


def test_export_path_with_a_quote(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("customer_id,age\nA,abc\nB,3\n")
    run_cli("ingest", "customers", str(path))
    target = tmp_path / "q'out.csv"
    result = run_cli("quarantine", "--export", str(target))
    assert result.returncode == 0, result.stderr
    assert "abc" in target.read_text()
