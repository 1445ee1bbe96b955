"""Garbage that used to load silently now has a rule; values a user expects to load do."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mallseg.data.errors import IngestError
from mallseg.data.ingest import ingest_file
from mallseg.workspace import Workspace


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def reasons(ws: Workspace, ingest_id: str) -> dict[int, str]:
    return dict(ws.connection.execute(
        "SELECT source_row, reason FROM quarantine WHERE ingest_id = ? ORDER BY 1",
        [ingest_id]).fetchall())


def known_customers(ws: Workspace, tmp_path: Path, *ids: str) -> None:
    ingest_file(ws, "customers", write(tmp_path, "known.csv",
                                       "customer_id\n" + "".join(f"{i}\n" for i in ids)))


@pytest.mark.parametrize("label", ["Total", "TOTAL:", "Grand total", "Sum", "Subtotal", "Summe"])
def test_a_summary_footer_row_is_not_a_customer(
    ws: Workspace, tmp_path: Path, label: str
) -> None:
    path = write(tmp_path, "c.csv", "CustomerID,Annual Income (k$)\n1,15\n2,16\n"
                                    f"{label},31\n")
    report = ingest_file(ws, "customers", path)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    assert reasons(ws, report.ingest_id) == {
        4: f"looks like a summary row ('{label}'), not a customer"}


def test_a_summary_row_labelled_in_the_first_column_of_an_event_file(
    ws: Workspace, tmp_path: Path
) -> None:
    known_customers(ws, tmp_path, "A")
    path = write(tmp_path, "t.csv", "receipt,customer_id,purchased_at,amount\n"
                                    "R1,A,2026-01-01 10:00,5\nGrand Total,A,2026-01-01 10:00,5\n")
    report = ingest_file(ws, "transactions", path, column_map={"receipt": "basket_id"})
    assert reasons(ws, report.ingest_id) == {
        3: "looks like a summary row ('Grand Total'), not a transaction"}
    # a customer whose id merely starts with the letters loads
    known_customers(ws, tmp_path, "Sumner", "Totaro")
    assert ws.table_count("customers") == 3


def test_placeholder_and_future_dates_are_rejected(ws: Workspace, tmp_path: Path) -> None:
    later = datetime.now(UTC).year + 6
    path = write(tmp_path, "c.csv", "customer_id,signup_date\nA,2099-01-01\nB,1800-01-01\n"
                                    f"C,2024-05-01\nD,2029-06-30\nE,{later}-01-01\n")
    report = ingest_file(ws, "customers", path)
    assert reasons(ws, report.ingest_id) == {
        2: "signup_date: 2099-01-01 is more than 5 years after the time of ingest",
        3: "signup_date: 1800-01-01 is before 1900",
        6: f"signup_date: {later}-01-01 is more than 5 years after the time of ingest",
    }
    known_customers(ws, tmp_path, "A")
    events = write(tmp_path, "t.csv", "customer_id,purchased_at,amount\nA,0000-01-01,5\n"
                                      "A,9999-12-31 23:59,5\nA,1969-12-31,5\nA,2028-12-31,5\n")
    report = ingest_file(ws, "transactions", events)
    assert report.rows_loaded == 1  # the simulator writes periods up to about 2029
    found = reasons(ws, report.ingest_id)
    assert found[2].startswith("purchased_at: ") and found[2].endswith(" is before 1970")
    assert found[3] == ("purchased_at: 9999-12-31 23:59:00 is more than 5 years after the "
                        "time of ingest")
    assert found[4] == "purchased_at: 1969-12-31 00:00:00 is before 1970"


def test_income_mostly_in_full_units_rejects_values_in_thousands(
    ws: Workspace, tmp_path: Path
) -> None:
    rows = "".join(f"F{i},{40_000 + 1000 * i}\n" for i in range(6))
    rows += "K1,58.5\nK2,61\nZ0,0\nX1,5e28\n"
    report = ingest_file(ws, "customers", write(tmp_path, "c.csv", "ID,Income\n" + rows))
    assert report.rows_loaded == 7  # six in full units and the zero income
    found = reasons(ws, report.ingest_id)
    assert found[8] == ("annual_income: 58.5 looks like thousands, but the column gives full "
                        "currency units (median 41,500): write every income in the same unit")
    assert found[9].startswith("annual_income: 61.0 looks like thousands")
    assert found[11] == "annual_income: 5e+28 is outside 0..100000000 (full currency units)"
    assert report.notes == ["Income: a median of 41,500 reads as full currency units; "
                            "divided by 1000 to give annual_income in thousands"]
    incomes = ws.connection.execute(
        "SELECT list(annual_income ORDER BY customer_id) FROM customers").fetchone()
    assert incomes == ([40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 0.0],)


def test_an_absurd_income_says_nothing_about_the_unit(ws: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "ID,Income\nA,40\nB,5e28\nC,52\n")
    report = ingest_file(ws, "customers", path)
    assert report.notes == []
    assert reasons(ws, report.ingest_id) == {3: "annual_income: 5e+28 is outside 0..100000"}
    assert report.top_reasons == [("annual_income: … is outside 0..100000", 1,
                                   "annual_income: 5e+28 is outside 0..100000")]


def test_ids_that_a_spreadsheet_would_run_as_formulas_are_counted(
    ws: Workspace, tmp_path: Path
) -> None:
    path = write(tmp_path, "c.csv", "customer_id,age\n=1+1,30\n+A,31\n-7,32\n@SUM,33\nok,34\n")
    report = ingest_file(ws, "customers", path)
    assert report.rows_loaded == 5
    assert report.warnings == [
        "customer_id: 4 values start with =, +, - or @ (a spreadsheet opening an export may "
        "run them as a formula); loaded as given"]


def test_an_amount_that_contradicts_quantity_times_price_is_counted(
    ws: Workspace, tmp_path: Path
) -> None:
    known_customers(ws, tmp_path, "A")
    path = write(tmp_path, "t.csv", "customer_id,purchased_at,amount,quantity,unit_price\n"
                                    "A,2026-01-01 10:00,10.00,2,5\n"      # exact
                                    "A,2026-01-01 11:00,10.005,2,5\n"     # within 0.01
                                    "A,2026-01-01 12:00,100.9,2,50\n"     # within 1%
                                    "A,2026-01-01 13:00,12.00,2,5\n"      # contradicts
                                    "A,2026-01-01 14:00,250,3,100\n")     # contradicts
    report = ingest_file(ws, "transactions", path)
    assert report.rows_loaded == 5
    assert report.warnings == [
        "amount: 2 rows differ from quantity × unit_price by more than 1% (and more than "
        "0.01); loaded as given"]


def test_a_value_mapping_and_genders_in_other_languages(ws: Workspace, tmp_path: Path) -> None:
    coded = write(tmp_path, "coded.csv", "customer_id,gender\nA,1\nB,2\nC, 1 \nD,3\n")
    report = ingest_file(ws, "customers", coded,
                         value_map={"gender": {"1": "male", "2": "female"}})
    assert (report.rows_loaded, report.rows_quarantined) == (3, 1)
    assert reasons(ws, report.ingest_id) == {
        5: "gender: '3' is not a gender (female, male, other)"}
    spoken = ["weiblich", "Männlich", "mujer", "HOMBRE", "Kadın", "erkek", "femme", "homme",
              "donna", "uomo"]
    path = write(tmp_path, "lang.csv", "customer_id,sex\n" + "".join(
        f"L{i},{word}\n" for i, word in enumerate(spoken)))
    assert ingest_file(ws, "customers", path).rows_loaded == 10
    genders = ws.connection.execute(
        "SELECT list(gender ORDER BY customer_id) FROM customers WHERE customer_id LIKE 'L%'"
    ).fetchone()
    assert genders == (["female", "male"] * 5,)
    with pytest.raises(IngestError, match="--values names 'shoe', which is no mapped column"):
        ingest_file(ws, "customers", coded, value_map={"shoe": {"1": "x"}})


@pytest.mark.parametrize(("written", "expected"), [
    ("Jan 01 2021", "2021-01-01"), ("01 Jan 2021", "2021-01-01"),
    ("January 1, 2021", "2021-01-01"), ("Mar 15 2022", "2022-03-15"),
    ("15-Mar-2022", "2022-03-15"),
])
def test_dates_with_month_names(
    ws: Workspace, tmp_path: Path, written: str, expected: str
) -> None:
    path = write(tmp_path, "c.csv", f'customer_id,signup_date\nA,"{written}"\n')
    report = ingest_file(ws, "customers", path)
    assert report.rows_loaded == 1
    day = ws.connection.execute("SELECT CAST(signup_date AS VARCHAR) FROM customers").fetchone()
    assert day == (expected,)


def test_a_nul_byte_rejects_its_line_and_names_it(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"customer_id,age\nA,30\nB,3\x001\nC,40\n")
    report = ingest_file(ws, "customers", path)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    assert reasons(ws, report.ingest_id) == {
        3: "the line holds a NUL byte (binary junk): remove it from the file"}
    header = tmp_path / "h.csv"
    header.write_bytes(b"customer_id,a\x00ge\nA,30\n")
    with pytest.raises(IngestError, match=r"binary content \(NUL bytes, the first on line 1\)"):
        ingest_file(ws, "customers", header)
