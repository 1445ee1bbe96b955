"""Large files are processed in units; the result must not depend on the unit size."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mallseg.data import csv_reader, parquet_reader, staging
from mallseg.data.ingest import ingest_file
from mallseg.workspace import Workspace


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read in tiny blocks, so that units end inside files, right after malformed lines."""
    monkeypatch.setattr(csv_reader, "_BLOCK_BYTES", 64)
    monkeypatch.setattr(parquet_reader, "_PARQUET_BATCH_ROWS", 2)
    monkeypatch.setattr(staging, "DECISION_ROWS", 1)


def load(folder: Path, files: dict[str, Path], unit_rows: int) -> dict[str, list[tuple]]:
    with Workspace.open(folder) as ws:
        reports = {t: ingest_file(ws, t, p, unit_rows=unit_rows) for t, p in files.items()}
        again = {t: ingest_file(ws, t, p, unit_rows=unit_rows) for t, p in files.items()}
        for report in again.values():
            assert report.rows_new == 0 and report.rows_updated == 0
        result = {
            table: sorted(ws.connection.execute(
                f"SELECT * EXCLUDE (_ingest_id) FROM {table}").fetchall(), key=str)
            for table in files
        }
        result["quarantine"] = sorted(ws.connection.execute(
            "SELECT table_name, source_row, reason FROM quarantine").fetchall())
        result["counts"] = sorted(
            (t, r.rows_read, r.rows_loaded, r.rows_quarantined) for t, r in reports.items())
    return result


@pytest.mark.usefixtures("small_blocks")
def test_unit_size_does_not_change_the_result(tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,age\n" + "".join(
        f"C{i % 23},{20 + i % 50 if i % 7 else 'x'}\n" for i in range(60)))
    transactions = tmp_path / "transactions.csv"
    lines = ["customer_id,purchased_at,amount"]
    for i in range(80):
        lines.append(f"C{i % 9},2026-01-0{1 + i % 3} 10:00,{(i % 4) * 5}")  # many repeats
        if i % 17 == 0:
            lines.append("C1,broken")
    transactions.write_text("\n".join(lines) + "\n")
    files = {"customers": customers, "transactions": transactions}
    one_unit = load(tmp_path / "a", files, unit_rows=1_000_000)
    tiny_units = load(tmp_path / "b", files, unit_rows=4)
    assert tiny_units == one_unit
    read = dict((t, r) for t, r, _, _ in one_unit["counts"])
    assert read == {"customers": 60, "transactions": 85}


@pytest.mark.usefixtures("small_blocks")
def test_parquet_in_units_keeps_row_numbers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(10)] + ["C3"],
                          "age": [30] * 10 + [31]})
    frame.to_parquet(tmp_path / "c.parquet", row_group_size=3)
    with Workspace.open(tmp_path / "ws") as ws:
        report = ingest_file(ws, "customers", tmp_path / "c.parquet", unit_rows=2)
        reasons = ws.connection.execute("SELECT source_row, reason FROM quarantine").fetchall()
    assert (report.rows_read, report.rows_loaded) == (11, 10)
    assert reasons == [(11, "duplicate customer_id 'C3' (first at row 4)")]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(st.sampled_from(["A", "B", "C"]),
                            st.sampled_from(["2026-01-01 10:00", "2026-01-02 11:00", "bad"]),
                            st.sampled_from(["5", "7.5", "-2", "x"])),
                  min_size=1, max_size=25),
    unit_rows=st.integers(min_value=1, max_value=6),
)
def test_any_unit_size_matches_one_unit(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str, str]], unit_rows: int
) -> None:
    readers_state = (csv_reader._BLOCK_BYTES, staging.DECISION_ROWS)
    csv_reader._BLOCK_BYTES, staging.DECISION_ROWS = 64, 1
    try:
        _compare_unit_sizes(tmp_path_factory, rows, unit_rows)
    finally:
        csv_reader._BLOCK_BYTES, staging.DECISION_ROWS = readers_state


def _compare_unit_sizes(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str, str]], unit_rows: int
) -> None:
    folder = tmp_path_factory.mktemp("units")
    customers = folder / "customers.csv"
    customers.write_text("customer_id\nA\nB\nC\n")
    transactions = folder / "transactions.csv"
    transactions.write_text("customer_id,purchased_at,amount\n"
                            + "".join(f"{c},{t},{a}\n" for c, t, a in rows))
    files = {"customers": customers, "transactions": transactions}
    assert load(folder / "a", files, 1_000) == load(folder / "b", files, unit_rows)


def test_a_file_broken_part_way_loads_what_came_before_and_can_be_completed(
    tmp_path: Path,
) -> None:
    from mallseg.data.errors import IngestError

    def part(first: int, count: int, tail: str = "") -> str:
        rows = "".join(f"C{i:06d},{20 + i % 60}\n" for i in range(first, first + count))
        return "customer_id,age\n" + rows + tail

    broken, repaired = tmp_path / "broken", tmp_path / "repaired"
    broken.mkdir()
    repaired.mkdir()
    (broken / "part-0.csv").write_text(part(0, 30_000))
    (broken / "part-1.csv").write_bytes(part(30_000, 3_000, "C999999,4\xff0\n")
                                        .encode("latin-1"))
    (repaired / "part-0.csv").write_text(part(0, 30_000))
    (repaired / "part-1.csv").write_text(part(30_000, 3_000))
    with Workspace.open(tmp_path / "ws") as ws:
        # told the file is UTF-8, the bad byte in the second part is found part-way
        with pytest.raises(IngestError, match="repair the file and ingest it again"):
            ingest_file(ws, "customers", broken, unit_rows=1_000, encoding="utf8")
        assert ws.table_count("customers") == 30_000
        status = ws.connection.execute("SELECT status FROM ingest_log").fetchall()
        assert status == [("stopped",)]
        report = ingest_file(ws, "customers", repaired, unit_rows=1_000)
        assert (report.rows_unchanged, report.rows_new) == (30_000, 3_000)
        assert ws.table_count("customers") == 33_000


@pytest.mark.usefixtures("small_blocks")
def test_blank_lines_before_the_header_keep_line_numbers_right(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("\n\ncustomer_id,age\nA,30\nbad,1,2\nB,x\nA,31\n")
    with Workspace.open(tmp_path / "ws") as ws:
        ingest_file(ws, "customers", path, unit_rows=1)
        rows = ws.connection.execute(
            "SELECT source_row, reason FROM quarantine ORDER BY source_row").fetchall()
    assert rows == [
        (5, "malformed line: 3 fields where the header has 2"),
        (6, "age: 'x' is not a whole number"),
        (7, "duplicate customer_id 'A' (first at row 4)"),
    ]


def test_a_key_first_seen_with_an_unknown_reference_is_not_a_duplicate(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        (tmp_path / "c.csv").write_text("customer_id\nA\n")
        (tmp_path / "s.csv").write_text("store_id\nS1\n")
        ingest_file(ws, "customers", tmp_path / "c.csv")
        ingest_file(ws, "stores", tmp_path / "s.csv")
        (tmp_path / "t.csv").write_text(
            "transaction_id,customer_id,store_id,purchased_at,amount\n"
            "T1,A,S9,2026-01-01 10:00,5\nT1,A,S1,2026-01-01 10:00,5\n")
        report = ingest_file(ws, "transactions", tmp_path / "t.csv")
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)


def test_empty_and_mistyped_parquet_parts(tmp_path: Path) -> None:
    from mallseg.data.errors import IngestError

    pd.DataFrame({"customer_id": pd.Series([], dtype=str)}).to_parquet(tmp_path / "e.parquet")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pd.DataFrame({"customer_id": ["A"], "age": [30]}).to_parquet(mixed / "p0.parquet")
    pd.DataFrame({"customer_id": ["B"], "age": ["31"]}).to_parquet(mixed / "p1.parquet")
    with Workspace.open(tmp_path / "ws") as ws:
        with pytest.raises(IngestError, match=r"no data rows below the header$"):
            ingest_file(ws, "customers", tmp_path / "e.parquet")
        with pytest.raises(IngestError, match=r"column 'age' is .*string here but int64"):
            ingest_file(ws, "customers", mixed)
        assert ws.table_count("customers") == 0
        assert ws.table_count("ingest_log") == 0


@pytest.mark.usefixtures("small_blocks")
def test_parquet_parts_split_into_units_match_one_unit(tmp_path: Path) -> None:
    """Parts read range by range: a repeated id is caught whichever unit or part it is in."""
    parts = tmp_path / "transactions"
    parts.mkdir()
    ids = [f"T{i}" for i in range(7)] + ["T2"]  # T2 again, in the second part
    for n, chunk in enumerate((ids[:5], ids[5:])):
        pd.DataFrame({"transaction_id": chunk, "customer_id": ["A"] * len(chunk),
                      "purchased_at": ["2026-01-01 10:00"] * len(chunk),
                      "amount": [5.0] * len(chunk)}).to_parquet(parts / f"part-{n}.parquet")
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id\nA\n")
    files = {"customers": customers, "transactions": parts}
    one_unit = load(tmp_path / "a", files, unit_rows=1_000)
    tiny_units = load(tmp_path / "b", files, unit_rows=2)
    assert tiny_units == one_unit
    assert ("transactions", 3, "duplicate transaction_id 'T2' (first at row 3)") in (
        one_unit["quarantine"])


def test_every_committed_unit_is_reported(tmp_path: Path) -> None:
    from mallseg.data.ingest_state import UnitProgress

    path = tmp_path / "customers.parquet"
    pd.DataFrame({"customer_id": [f"C{i}" for i in range(25)]}).to_parquet(path)
    seen: list[UnitProgress] = []
    stages: list[tuple[str, float]] = []
    original = staging.DECISION_ROWS
    staging.DECISION_ROWS = 1
    try:
        with Workspace.open(tmp_path / "ws") as ws:
            report = ingest_file(ws, "customers", path, unit_rows=10, on_unit=seen.append,
                                 progress=lambda stage, fraction: stages.append((stage, fraction)))
    finally:
        staging.DECISION_ROWS = original
    assert [(p.units_done, p.rows_done) for p in seen] == [(1, 10), (2, 20), (3, 25)]
    assert [round(p.fraction, 2) for p in seen] == [0.4, 0.8, 1.0]
    assert seen[-1].sentence() == "25 rows, 3 units"
    assert report.rows_read == seen[-1].rows_done
    assert [f for s, f in stages if s == "load"][-1] == 1.0
