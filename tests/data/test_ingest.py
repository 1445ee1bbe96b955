"""Ingest: every row read is loaded or quarantined with a reason; reloading adds nothing."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from mallseg.data.errors import IngestError
from mallseg.data.ingest import IngestReport, ingest_file
from mallseg.datasets.samples import classic_sample_path
from mallseg.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace.open(tmp_path / "ws")
    yield workspace
    workspace.close()


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def reconciles(report: IngestReport) -> bool:
    return (
        report.rows_read == report.rows_loaded + report.rows_quarantined
        and report.rows_loaded == report.rows_new + report.rows_updated + report.rows_unchanged
    )


def quarantine_reasons(ws: Workspace, ingest_id: str) -> list[tuple[int, str]]:
    return [
        (int(r[0]), str(r[1]))
        for r in ws.connection.execute(
            "SELECT source_row, reason FROM quarantine WHERE ingest_id = ? ORDER BY source_row",
            [ingest_id],
        ).fetchall()
    ]


def customers_frame(ws: Workspace) -> pd.DataFrame:
    return ws.connection.execute("SELECT * FROM customers ORDER BY customer_id").df()


# -- the classic sample ---------------------------------------------------------------------
def test_classic_sample_maps_every_column_and_keeps_the_values(ws: Workspace) -> None:
    report = ingest_file(ws, "customers", classic_sample_path())
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (200, 200, 0)
    assert report.mapping == {
        "customer_id": "CustomerID",
        "gender": "Genre",
        "age": "Age",
        "annual_income": "Annual Income (k$)",
        "spending_score": "Spending Score (1-100)",
    }
    frame = customers_frame(ws)
    source = pd.read_csv(classic_sample_path(), dtype={"CustomerID": str})
    assert list(frame["customer_id"]) == list(source["CustomerID"])  # zero padding kept
    assert frame["gender"].value_counts().to_dict() == {"female": 112, "male": 88}
    assert frame["annual_income"].tolist() == source["Annual Income (k$)"].astype(float).tolist()
    assert frame["spending_score"].tolist() == source["Spending Score (1-100)"].tolist()


def test_loading_the_same_file_twice_adds_nothing(ws: Workspace) -> None:
    ingest_file(ws, "customers", classic_sample_path())
    again = ingest_file(ws, "customers", classic_sample_path())
    assert (again.rows_new, again.rows_updated, again.rows_unchanged) == (0, 0, 200)
    assert ws.table_count("customers") == 200
    assert reconciles(again)


def test_a_changed_row_updates_only_the_columns_the_file_has(ws: Workspace, tmp_path: Path) -> None:
    ingest_file(ws, "customers", classic_sample_path())
    update = write(tmp_path, "tiers.csv", "CustomerID,Tier\n0001,gold\n0002,silver\n")
    report = ingest_file(ws, "customers", update)
    assert (report.rows_new, report.rows_updated) == (0, 2)
    row = ws.connection.execute(
        "SELECT age, annual_income, loyalty_tier FROM customers WHERE customer_id = '0001'"
    ).fetchone()
    assert row == (19, 15.0, "gold")


# -- malformed values -----------------------------------------------------------------------
def test_wrong_types_and_ranges_are_quarantined_with_reasons(
    ws: Workspace, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        "CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n"
        "1,Female,30,50,60\n"
        "2,Male,abc,50,60\n"
        "3,Female,150,50,60\n"
        "4,Robot,30,50,60\n"
        "5,Male,40,70,0\n"
        ",Male,40,70,10\n"
        "7,Male,41,seventy,10\n",
    )
    report = ingest_file(ws, "customers", path)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (7, 1, 6)
    assert reconciles(report)
    reasons = dict(quarantine_reasons(ws, report.ingest_id))
    assert reasons[3] == "age: 'abc' is not a whole number"
    assert reasons[4] == "age: 150 is outside 10..110"
    assert reasons[5] == "gender: 'Robot' is not a gender (female, male, other)"
    assert reasons[6] == "spending_score: 0.0 is outside 1..100"
    assert reasons[7] == "customer_id is empty"
    assert reasons[8] == "annual_income: 'seventy' is not a number"


def test_quarantine_keeps_the_raw_record(ws: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "id,age\nA,abc\n")
    report = ingest_file(ws, "customers", path)
    raw = ws.connection.execute(
        "SELECT raw_record FROM quarantine WHERE ingest_id = ?", [report.ingest_id]
    ).fetchone()
    assert raw is not None and json.loads(raw[0]) == {"id": "A", "age": "abc"}


def test_duplicate_keys_keep_the_first_and_quarantine_the_rest(
    ws: Workspace, tmp_path: Path
) -> None:
    path = write(tmp_path, "c.csv", "customer_id,age\nA,30\nB,31\nA,32\nA,33\n")
    report = ingest_file(ws, "customers", path)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 2)
    assert quarantine_reasons(ws, report.ingest_id) == [
        (4, "duplicate customer_id 'A' (first at row 2)"),
        (5, "duplicate customer_id 'A' (first at row 2)"),
    ]
    assert ws.connection.execute("SELECT age FROM customers WHERE customer_id='A'").fetchone() == (
        30,
    )


def test_malformed_lines_are_quarantined_with_their_line_number(
    ws: Workspace, tmp_path: Path
) -> None:
    path = write(tmp_path, "c.csv", "customer_id,age\r\nA,30\r\nB,31,extra\r\nC\r\nD,33\r\n")
    report = ingest_file(ws, "customers", path)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (4, 2, 2)
    reasons = quarantine_reasons(ws, report.ingest_id)
    assert reasons == [
        (3, "malformed line: 3 fields where the header has 2"),
        (4, "malformed line: 1 fields where the header has 2"),
    ]
    rows = ws.connection.execute("SELECT customer_id FROM customers ORDER BY 1").fetchall()
    assert rows == [("A",), ("D",)]


# -- files that cannot be used at all ---------------------------------------------------------
def test_missing_required_column_names_file_column_and_fix(ws: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", "Kunde,Alter\nA,30\n")
    with pytest.raises(IngestError) as err:
        ingest_file(ws, "customers", path)
    message = str(err.value)
    assert str(path) in message
    assert "customers.customer_id" in message
    assert "Kunde, Alter" in message
    assert "--map SOURCE=customer_id" in message
    assert "\n" not in message
    assert ws.table_count("customers") == 0


def test_explicit_mapping_wins(ws: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", "Kunde,Alter,ID\nA,30,zzz\nB,41,yyy\n")
    report = ingest_file(ws, "customers", path, column_map={"Kunde": "customer_id",
                                                               "Alter": "age"})
    assert report.mapping["customer_id"] == "Kunde"
    assert report.set_aside == {"ID": "an identifier (its name says so)"}
    ids = ws.connection.execute("SELECT list(customer_id ORDER BY 1) FROM customers").fetchone()
    assert ids == (["A", "B"],)


def test_explicit_mapping_to_a_missing_column_is_refused(ws: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", "Kunde\nA\n")
    with pytest.raises(IngestError, match="--map names column 'Client'"):
        ingest_file(ws, "customers", path, column_map={"Client": "customer_id"})
    with pytest.raises(IngestError, match="has no column 'shoe_size'"):
        ingest_file(ws, "customers", path, column_map={"Kunde": "shoe_size"})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"   \n\n", "the file is empty"),
        (b"customer_id,age\n", "no data rows below the header"),
        ("customer_id,age\nA,3\n".encode("utf-16"), "UTF-16"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        (b"customer_id,age,age\nA,1,2\n", "column 'age' appears twice"),
    ],
)
def test_unusable_files_fail_with_one_clear_line(
    ws: Workspace, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=expected) as err:
        ingest_file(ws, "customers", path)
    assert str(path) in str(err.value)
    assert ws.table_count("customers") == 0


def test_missing_file_and_unknown_table(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        ingest_file(ws, "customers", tmp_path / "nope.csv")
    with pytest.raises(IngestError, match="unknown table 'shoppers'"):
        ingest_file(ws, "shoppers", classic_sample_path())


# -- encodings, dialects and formats ------------------------------------------------------------
def test_latin1_file_is_detected_and_read(ws: Workspace, tmp_path: Path) -> None:
    text = "store_id;name;category\nS1;Café Zoë;cafe\nS2;Müller;beauty\n"
    path = write(tmp_path, "stores.csv", text, encoding="latin-1")
    report = ingest_file(ws, "stores", path)
    assert report.rows_loaded == 2
    names = ws.connection.execute("SELECT list(name ORDER BY store_id) FROM stores").fetchone()
    assert names == (["Café Zoë", "Müller"],)


def test_latin1_beyond_the_sniffed_sample_is_still_read(ws: Workspace, tmp_path: Path) -> None:
    body = "".join(f"S{i},Store number {i:07d} with a long name,apparel\n" for i in range(40_000))
    path = write(tmp_path, "stores.csv", "store_id,name,category\n" + body + "S_end,Zoë,cafe\n",
                 encoding="latin-1")
    report = ingest_file(ws, "stores", path)
    assert report.rows_loaded == 40_001
    assert "read as cp1252" in report.notes
    assert ws.connection.execute("SELECT name FROM stores WHERE store_id='S_end'").fetchone() == (
        "Zoë",
    )


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_any_delimiter_crlf_and_quoted_fields(
    ws: Workspace, tmp_path: Path, delimiter: str
) -> None:
    d = delimiter
    text = (f"store_id{d}name{d}category\r\n"
            f'S1{d}"Big{d} ""Bold"" Store"{d}apparel\r\n'
            f"S2{d}Plain{d}food_court\r\n")
    path = write(tmp_path, "stores.csv", text)
    report = ingest_file(ws, "stores", path)
    assert report.rows_loaded == 2
    assert ws.connection.execute("SELECT name FROM stores WHERE store_id='S1'").fetchone() == (
        f'Big{d} "Bold" Store',
    )


def test_gzip_csv(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "stores.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("store_id,category\nS1,cinema\nS2,cafe\n")
    assert ingest_file(ws, "stores", path).rows_loaded == 2


def test_parquet_folder_of_parts(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "stores"
    folder.mkdir()
    pd.DataFrame({"store_id": ["S1", "S2"], "floor": [0, 1]}).to_parquet(folder / "part-0.parquet")
    pd.DataFrame({"store_id": ["S3"], "floor": [2]}).to_parquet(folder / "part-1.parquet")
    report = ingest_file(ws, "stores", folder)
    assert (report.rows_read, report.rows_loaded) == (3, 3)
    assert ws.connection.execute("SELECT sum(floor) FROM stores").fetchone() == (3,)


def test_excel_workbook(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "customers.xlsx"
    pd.DataFrame({"CustomerID": ["A", "B", "C"], "Age": [30, "old", 50]}).to_excel(
        path, index=False
    )
    report = ingest_file(ws, "customers", path)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    assert quarantine_reasons(ws, report.ingest_id) == [(3, "age: 'old' is not a whole number")]


# -- values written the way exports write them ---------------------------------------------------
def test_dates_use_one_format_per_column(ws: Workspace, tmp_path: Path) -> None:
    ingest_file(ws, "customers", write(tmp_path, "c.csv", "customer_id\nA\n"))
    path = write(tmp_path, "t.csv",
                 "customer_id,date,amount\nA,03/04/2024,10\nA,25/04/2024,5\nA,20240102,1\n")
    report = ingest_file(ws, "transactions", path)
    assert report.rows_loaded == 2  # 20240102 is not in the column's day-first format
    days = ws.connection.execute(
        "SELECT list(CAST(purchased_at AS DATE) ORDER BY purchased_at) FROM transactions"
    ).fetchone()
    assert [str(d) for d in days[0]] == ["2024-04-03", "2024-04-25"]
    assert any("%d/%m/%Y" in note for note in report.notes)


def test_survey_ranges_and_income_in_full_units(ws: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "demo.csv",
                 "household_id,age,household_size,Income\nh1,45-54,5+,58138\nh2,65+,1,46344\n")
    report = ingest_file(ws, "customers", path)
    assert report.rows_loaded == 2
    rows = ws.connection.execute(
        "SELECT age, family_size, annual_income FROM customers ORDER BY customer_id"
    ).fetchall()
    assert rows == [(50, 5, 58.138), (65, 1, 46.344)]
    assert any("divided by 1000" in note for note in report.notes)


def test_birth_year_is_kept_as_given_and_impossible_years_rejected(
    ws: Workspace, tmp_path: Path
) -> None:
    this_year = datetime.now(UTC).year
    path = write(tmp_path, "c.csv",
                 f"ID\tYear_Birth\n1\t1980\n2\t1893\n3\t{this_year + 1}\n")
    report = ingest_file(ws, "customers", path)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 2)
    assert [r for _, r in quarantine_reasons(ws, report.ingest_id)] == [
        "birth_year: 1893 is outside 1900..2030",
        f"birth_year: {this_year + 1} is after the year of ingest ({this_year})",
    ]
    # age is computed by the features stage as of the data's reference date, not here
    assert ws.connection.execute("SELECT birth_year, age FROM customers").fetchall() == [
        (1980, None)]


def test_personal_data_columns_are_not_stored(ws: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "customer_id,Email,Phone,age\nA,a@x.org,555,30\n")
    report = ingest_file(ws, "customers", path)
    assert report.dropped_pii_columns == ["Email", "Phone"]
    stored = ws.connection.execute("SELECT * FROM customers").df().to_string()
    assert "a@x.org" not in stored and "555" not in stored


# -- events: references and derived keys --------------------------------------------------------
def test_unknown_customers_are_quarantined_or_registered(ws: Workspace, tmp_path: Path) -> None:
    ingest_file(ws, "customers", write(tmp_path, "c.csv", "customer_id\nA\n"))
    visits = write(tmp_path, "v.csv",
                   "customer_id,entered_at,left_at\nA,2026-01-01 10:00,2026-01-01 11:30\n"
                   "Z,2026-01-01 12:00,2026-01-01 12:30\n"
                   "A,2026-01-02 10:00,2026-01-02 09:00\n")
    report = ingest_file(ws, "visits", visits)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 2)
    reasons = dict(quarantine_reasons(ws, report.ingest_id))
    assert reasons[3] == "customer_id 'Z' is not in customers"
    assert reasons[4] == "left_at is before entered_at"
    assert any("--register-unknown" in note for note in report.notes)
    assert ws.connection.execute("SELECT dwell_minutes FROM visits").fetchone() == (90.0,)

    again = ingest_file(ws, "visits", visits, register_unknown=True)
    assert again.registered == {"customers": 1}
    assert (again.rows_new, again.rows_unchanged, again.rows_quarantined) == (1, 1, 1)
    assert ws.table_count("customers") == 2


def test_transactions_without_ids_reload_idempotently_and_keep_identical_lines(
    ws: Workspace, tmp_path: Path
) -> None:
    ingest_file(ws, "customers", write(tmp_path, "c.csv", "customer_id\nA\nB\n"))
    path = write(tmp_path, "t.csv",
                 "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
                 "536365,A,2010-12-01 08:26:00,6,2.55\n"
                 "536365,A,2010-12-01 08:26:00,6,2.55\n"
                 "536366,B,2010-12-01 08:28:00,-2,1.85\n")
    first = ingest_file(ws, "transactions", path)
    assert first.rows_new == 3  # two identical receipt lines are two purchases
    second = ingest_file(ws, "transactions", path)
    assert (second.rows_new, second.rows_unchanged) == (0, 3)
    assert ws.table_count("transactions") == 3
    amounts = ws.connection.execute(
        "SELECT list(round(amount, 2) ORDER BY amount) FROM transactions"
    ).fetchone()
    assert amounts == ([-3.7, 15.3, 15.3],)


def test_exposures_key_is_campaign_and_customer(ws: Workspace, tmp_path: Path) -> None:
    ingest_file(ws, "customers", write(tmp_path, "c.csv", "customer_id\nA\nB\n"))
    ingest_file(ws, "campaigns", write(tmp_path, "k.csv", "campaign_id,channel\nK1,email\n"))
    path = write(tmp_path, "e.csv",
                 "campaign_id,customer_id,holdout,responded\nK1,A,no,yes\nK1,B,1,0\nK1,A,no,no\n")
    report = ingest_file(ws, "exposures", path)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    assert quarantine_reasons(ws, report.ingest_id) == [
        (4, "duplicate campaign_id 'K1' customer_id 'A' (first at row 2)")
    ]
    flags = ws.connection.execute(
        "SELECT list((is_holdout, responded) ORDER BY customer_id) FROM exposures"
    ).fetchone()
    assert flags == ([(False, True), (True, False)],)


def test_ingest_is_recorded_in_the_log_and_audit_trail(ws: Workspace) -> None:
    report = ingest_file(ws, "customers", classic_sample_path())
    logged = ws.connection.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined, length(content_sha256) FROM ingest_log "
        "WHERE ingest_id = ?", [report.ingest_id]
    ).fetchone()
    assert logged == (200, 200, 0, 64)
    audit = ws.connection.execute(
        "SELECT action, target FROM audit_log WHERE action = 'ingest'"
    ).fetchall()
    assert audit == [("ingest", "customers")]


def test_fixed_width_text_is_explained(ws: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "cd.txt", "customer_id  date number_of_cds  dollar_value\n"
                                     "00001 19970101 1  11.77\n")
    with pytest.raises(IngestError, match=r"found a single column .* --delimiter"):
        ingest_file(ws, "transactions", path)
