"""Hostile and awkward input: names, values and files that must neither break nor leak."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from mallseg.data.errors import IngestError
from mallseg.data.ingest import ingest_file
from mallseg.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace.open(tmp_path / "ws")
    yield workspace
    workspace.close()


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_sql_in_a_column_name_is_only_a_name(ws: Workspace, tmp_path: Path) -> None:
    ingest_file(ws, "customers", write_rows(tmp_path / "a.csv", [["customer_id"], ["A"]]))
    hostile = 'a" VARCHAR); DROP TABLE customers; CREATE TEMP TABLE _x ("b\'s'
    path = write_rows(tmp_path / "b.csv", [["customer_id", hostile, 'q"uote'], ["B", "1", "x"],
                                           ["C", "2", "y'"], ["D", "1", "x"]])
    report = ingest_file(ws, "customers", path)
    assert report.rows_loaded == 3
    assert report.attributes == {
        "a_varchar_drop_table_customers_create_temp_table_x_b_s": "numeric",
        "q_uote": "categorical",
    }
    assert ws.table_count("customers") == 4
    sources = ws.connection.execute(
        "SELECT list(source_column ORDER BY source_column) FROM attribute_catalog").fetchone()
    assert sources == ([hostile, 'q"uote'],)
    texts = ws.connection.execute(
        "SELECT list(text ORDER BY customer_id) FROM customer_attributes WHERE text IS NOT NULL"
    ).fetchone()
    assert texts == (["x", "y'", "x"],)


def test_personal_data_never_reaches_the_quarantine(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("customer_id,email,Full Name,age\n"
                    "c1,alice@example.com,Alice A,30\n"
                    "c2,bob@example.com,Bob Jones,999\n"
                    "c3,carol@example.com,Carol C,40,extra\n")
    report = ingest_file(ws, "customers", path)
    assert report.dropped_pii_columns == ["email", "Full Name"]
    assert report.rows_quarantined == 2
    stored = json.dumps(ws.connection.execute("SELECT * FROM quarantine").fetchall(), default=str)
    assert "example.com" not in stored and "Bob" not in stored and "Carol" not in stored
    raws = [json.loads(r[0]) for r in ws.connection.execute(
        "SELECT raw_record FROM quarantine ORDER BY source_row").fetchall()]
    assert raws[0] == {"customer_id": "c2", "age": "999"}
    # a malformed line's fields may be shifted: nothing from the first personal column on
    assert raws[1] == {"customer_id": "c3"}


def test_personal_data_is_dropped_from_event_tables_too(ws: Workspace, tmp_path: Path) -> None:
    ingest_file(ws, "customers", write_rows(tmp_path / "a.csv", [["customer_id"], ["A"]]))
    path = tmp_path / "t.csv"
    path.write_text("customer_id,email,purchased_at,amount\nA,a@x.org,2026-01-01 10:00,oops\n")
    report = ingest_file(ws, "transactions", path)
    assert report.dropped_pii_columns == ["email"]
    raw = ws.connection.execute("SELECT raw_record FROM quarantine").fetchone()
    assert raw is not None and "a@x.org" not in raw[0]


@pytest.mark.parametrize("value", ["nan", "inf", "1e30", "-1e300"])
def test_non_finite_and_huge_numbers_are_quarantined_not_fatal(
    ws: Workspace, tmp_path: Path, value: str
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(f"customer_id,age,family_size\nc1,30,2\nc2,{value},2\nc3,31,{value}\n")
    report = ingest_file(ws, "customers", path)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 2)


def test_parquet_nan_and_float_ids(ws: Workspace, tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer_id": [1.0, 2.0, None], "age": [30.0, float("nan"), 40.0]})
    frame.to_parquet(tmp_path / "c.parquet")
    report = ingest_file(ws, "customers", tmp_path / "c.parquet")
    assert report.rows_loaded == 2
    ids = ws.connection.execute("SELECT list(customer_id ORDER BY 1) FROM customers").fetchone()
    assert ids == (["1", "2"],)


def test_time_zone_aware_parquet_is_read_the_same_everywhere(
    ws: Workspace, tmp_path: Path
) -> None:
    ingest_file(ws, "customers", write_rows(tmp_path / "a.csv", [["customer_id"], ["A"]]))
    stamps = pd.to_datetime(["2026-01-01 10:00"]).tz_localize("Europe/Berlin")
    pd.DataFrame({"customer_id": ["A"], "entered_at": stamps}).to_parquet(tmp_path / "v.parquet")
    ingest_file(ws, "visits", tmp_path / "v.parquet")
    entered = ws.connection.execute("SELECT CAST(entered_at AS VARCHAR) FROM visits").fetchone()
    assert entered == ("2026-01-01 09:00:00",)  # the instant, in UTC


def test_an_offset_in_text_keeps_the_local_wall_clock(ws: Workspace, tmp_path: Path) -> None:
    ingest_file(ws, "customers", write_rows(tmp_path / "a.csv", [["customer_id"], ["A"]]))
    path = tmp_path / "v.csv"
    path.write_text("customer_id,entered_at\nA,2024-01-01T10:00:00+02:00\n")
    ingest_file(ws, "visits", path)
    entered = ws.connection.execute("SELECT hour(entered_at) FROM visits").fetchone()
    assert entered == (10,)


def test_price_is_ambiguous_and_the_error_offers_both_meanings(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Invoice,Quantity,InvoiceDate,Price,Customer ID\n1,2,2010-12-01,2.5,A\n")
    with pytest.raises(IngestError, match="--map Price=amount or --map Price=unit_price"):
        ingest_file(ws, "transactions", path)


def test_repeated_mapping_options_are_refused() -> None:
    from mallseg.data.mapping import parse_mapping_options

    with pytest.raises(IngestError, match="twice"):
        parse_mapping_options(["a=customer_id", "a=age"])
    with pytest.raises(IngestError, match="two sources"):
        parse_mapping_options(["a=customer_id", "b=customer_id"])


def test_decimal_comma_column_is_read_as_such(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("customer_id;annual_income\nA;1.234,5\nB;12,5\nC;€ 30\n")
    report = ingest_file(ws, "customers", path)
    assert report.rows_loaded == 3
    incomes = ws.connection.execute(
        "SELECT list(annual_income ORDER BY customer_id) FROM customers").fetchone()
    assert incomes == ([1234.5, 12.5, 30.0],)
    assert any("decimal comma" in note for note in report.notes)


def test_leading_blank_lines_and_accented_headers(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("\n\ncustomer_id,Âge\nA,30\nB,abc\n", encoding="utf-8")
    report = ingest_file(ws, "customers", path)
    assert report.mapping["age"] == "Âge"
    rows = ws.connection.execute("SELECT source_row FROM quarantine").fetchall()
    assert rows == [(5,)]


def test_file_names_with_brackets_are_files_not_globs(ws: Workspace, tmp_path: Path) -> None:
    path = write_rows(tmp_path / "customers [copy].csv", [["customer_id"], ["A"]])
    assert ingest_file(ws, "customers", path).rows_loaded == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("customer_id,Age,age", "appears twice"),
        ("customer_id,_source_row", "reserves"),
    ],
)
def test_colliding_and_reserved_column_names(
    ws: Workspace, tmp_path: Path, header: str, expected: str
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(header + "\n" + ",".join(["1"] * len(header.split(","))) + "\n")
    with pytest.raises(IngestError, match=expected):
        ingest_file(ws, "customers", path)


def test_damaged_gzip_and_bad_options(ws: Workspace, tmp_path: Path) -> None:
    whole = gzip.compress(b"customer_id\n" + b"".join(b"C%06d\n" % i for i in range(50_000)))
    path = tmp_path / "c.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(IngestError, match=r"c\.csv\.gz"):
        ingest_file(ws, "customers", path)
    good = write_rows(tmp_path / "g.csv", [["customer_id"], ["A"]])
    with pytest.raises(IngestError, match="--encoding 'klingon'"):
        ingest_file(ws, "customers", good, encoding="klingon")
    with pytest.raises(IngestError, match="--delimiter"):
        ingest_file(ws, "customers", good, delimiter=";;")
    tabbed = tmp_path / "t.csv"
    tabbed.write_text("customer_id\tage\nA\t3\n")
    assert ingest_file(ws, "customers", tabbed, delimiter="tab").mapping["age"] == "age"


def test_reloading_a_file_does_not_duplicate_its_quarantine(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "c.csv"
    path.write_text("customer_id,age\nA,30\nB,abc\n")
    ingest_file(ws, "customers", path)
    ingest_file(ws, "customers", path)
    assert ws.table_count("quarantine") == 1


def test_excel_duplicate_headers_and_blank_rows(ws: Workspace, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["customer_id", "age"], ["A", 30], [None, None], ["B", 31]):
        sheet.append(row)
    book.save(tmp_path / "ok.xlsx")
    report = ingest_file(ws, "customers", tmp_path / "ok.xlsx")
    assert (report.rows_read, report.rows_loaded) == (2, 2)
    dup = Workbook()
    dup_sheet = dup.active
    assert dup_sheet is not None
    dup_sheet.append(["customer_id", "age", "age"])
    dup_sheet.append(["A", 1, 2])
    dup.save(tmp_path / "dup.xlsx")
    with pytest.raises(IngestError, match="appears twice"):
        ingest_file(ws, "customers", tmp_path / "dup.xlsx")


def test_store_and_campaign_names_are_not_personal_data(ws: Workspace, tmp_path: Path) -> None:
    stores = write_rows(tmp_path / "s.csv", [["store_id", "name", "manager_email", "opening"],
                                             ["S1", "Cafe Zoe", "zoe@example.org", "9-18"]])
    report = ingest_file(ws, "stores", stores)
    assert report.mapping == {"store_id": "store_id", "name": "name"}
    assert report.dropped_pii_columns == ["manager_email"]
    assert report.ignored_columns == ["opening"]  # stores keep no attributes
    campaigns = write_rows(tmp_path / "k.csv", [["campaign_id", "campaign_name"],
                                                ["K1", "Spring sale"]])
    assert ingest_file(ws, "campaigns", campaigns).mapping["name"] == "campaign_name"
    names = ws.connection.execute(
        "SELECT (SELECT name FROM stores), (SELECT name FROM campaigns)").fetchone()
    assert names == ("Cafe Zoe", "Spring sale")
