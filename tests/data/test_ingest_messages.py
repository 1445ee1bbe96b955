"""Each message names the real cause: the file, what was found, what to do."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from mallseg.data.errors import IngestError
from mallseg.data.folder import scan_table_folder
from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.workspace import Workspace


def refused(ws: Workspace, path: Path, table: str = "customers", **options: object) -> str:
    """The one-line message of a file that cannot be used; nothing is loaded from it."""
    before = ws.table_count(table)
    with pytest.raises(IngestError) as err:
        ingest_file(ws, table, path, **options)  # type: ignore[arg-type]
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    assert ws.table_count(table) == before
    return message


def test_a_header_cut_mid_line(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"customer_id,age,annual_inc")
    assert refused(ws, path) == (
        f"{path}: no data rows below the header, and the file ends inside its header line "
        "(no line break after it): was it cut short? Export it again")


def test_utf32_is_named_as_such(ws: Workspace, tmp_path: Path) -> None:
    for encoding, name in (("utf-32", "UTF-32"), ("utf-32-le", "UTF-32"),
                           ("utf-16", "UTF-16"), ("utf-16-be", "UTF-16")):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes("customer_id,age\nA,30\n".encode(encoding))
        assert refused(ws, path) == (
            f"{path}: the file is {name} encoded; expected UTF-8, Windows-1252 or Latin-1 "
            "(re-save it as UTF-8)")


def test_a_zip_renamed_csv_is_a_zip_not_a_bad_workbook(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("customers.csv", "customer_id\nA\n")
    assert refused(ws, path) == (
        f"{path}: is a zip archive (holding customers.csv), not a workbook, CSV or Parquet "
        "file: unzip it and ingest the file inside")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    assert "cannot be read as an Excel workbook" in refused(ws, broken)


def book(path: Path, sheets: dict[str, dict[str, object]]) -> Path:
    workbook = Workbook()
    first = True
    for title, cells in sheets.items():
        sheet = workbook.active if first else workbook.create_sheet(title)
        assert sheet is not None
        sheet.title = title
        first = False
        for ref, value in cells.items():
            sheet[ref] = value
    workbook.save(path)
    return path


def test_a_table_that_starts_at_c5_below_a_title(ws: Workspace, tmp_path: Path) -> None:
    path = book(tmp_path / "c.xlsx", {"Report": {
        "A1": "Customer report 2026", "C5": "CustomerID", "D5": "Age", "C6": "A", "D6": 30,
        "C7": "B", "D7": "old", "C9": "C", "D9": 41}})
    report = ingest_file(ws, "customers", path)
    assert (report.rows_read, report.rows_loaded) == (3, 2)
    assert report.notes == ["read the table from cell C5 of sheet 'Report'"]
    assert ws.connection.execute(
        "SELECT source_row, reason FROM quarantine").fetchall() == [
        (7, "age: 'old' is not a whole number")]


def test_a_table_on_the_second_sheet(ws: Workspace, tmp_path: Path) -> None:
    path = book(tmp_path / "c.xlsx", {"Cover": {}, "Data": {"A1": "customer_id", "A2": "X"}})
    report = ingest_file(ws, "customers", path)
    assert report.rows_loaded == 1
    assert report.notes == ["read sheet 'Data' (the first sheet, 'Cover', is empty)"]
    several = book(tmp_path / "s.xlsx", {"Cover": {}, "2025": {"A1": "customer_id", "A2": "X"},
                                         "2026": {"A1": "customer_id", "A2": "Y"}})
    assert refused(ws, several) == (
        f"{several}: the first sheet ('Cover') is empty and several hold data (2025, 2026): "
        "choose one with --sheet NAME")
    notes = book(tmp_path / "n.xlsx", {"Notes": {"A1": "read me first"},
                                       "Data": {"A1": "customer_id", "B1": "age", "A2": "X",
                                                "B2": 30}})
    assert refused(ws, notes) == (
        f"{notes}: found a single column ('read me first') where customers needs customer_id; "
        "the sheet 'Notes' holds no table with a header row: choose the sheet that holds it "
        "with --sheet NAME (sheets with data: Data)")
    assert ingest_file(ws, "customers", notes, sheet="Data").rows_loaded == 1
    assert refused(ws, notes, sheet="Nope") == (
        f"{notes}: no sheet named 'Nope'; the workbook's sheets are: Notes, Data")


def test_reasons_group_by_kind_with_a_real_example(ws: Workspace, tmp_path: Path) -> None:
    ingest_file(ws, "customers", _write(
        tmp_path / "k.csv", "customer_id\n" + "".join(f"{1000 + i}\n" for i in range(40))))
    ingest_file(ws, "campaigns", _write(tmp_path / "c.csv", "campaign_id\n26\n27\n"))
    exposures = _write(tmp_path / "e.csv", "campaign_id,customer_id,responded\n"
                       "26,1029,yes\n26,1029,no\n27,1030,no\n27,1030,yes\n27,1031,maybe\n")
    report = ingest_file(ws, "exposures", exposures)
    assert report.top_reasons == [
        ("duplicate campaign_id … customer_id … (first at row …)", 2,
         "duplicate campaign_id '26' customer_id '1029' (first at row 2)"),
        ("responded: … is not true or false (yes/no, 1/0)", 1,
         "responded: 'maybe' is not true or false (yes/no, 1/0)"),
    ]
    assert report.notes == []  # no note with a zero count: every reference was known


def test_scientific_notation_survives_the_reason_summary(ws: Workspace, tmp_path: Path) -> None:
    path = _write(tmp_path / "c.csv", "customer_id,age\nA,1e5\nB,2.5e+300\nC,-1e3\n")
    report = ingest_file(ws, "customers", path)
    assert report.top_reasons == [("age: … is outside 10..110", 2,
                                   "age: 100000 is outside 10..110"),
                                  ("age: … is not a whole number", 1,
                                   "age: '2.5e+300' is not a whole number")]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_folder_scan_says_which_file_went_where(tmp_path: Path) -> None:
    for name in ("Customers.csv", "customers.parquet", "stores.xlsx", "notes.txt",
                 "visits_2025.csv", ".DS_Store"):
        (tmp_path / name).write_text("x")
    (tmp_path / "transactions").mkdir()
    (tmp_path / "extra").mkdir()
    scan = scan_table_folder(tmp_path)
    assert scan.found == {"customers": tmp_path / "Customers.csv",
                          "stores": tmp_path / "stores.xlsx",
                          "transactions": tmp_path / "transactions"}
    assert [p.name for p in scan.ignored] == ["customers.parquet", "extra", "notes.txt",
                                              "visits_2025.csv"]
    assert find_table_sources(tmp_path) == scan.found
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestError, match="no table found"):
        scan_table_folder(empty)
