"""What event files say about customers: attributes, most frequent values, filled gaps."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mallseg.data import csv_reader, staging
from mallseg.data import ingest as ingest_module
from mallseg.data.ingest import ingest_file
from mallseg.data.readers import stage_units
from mallseg.workspace import Workspace

COUNTRIES = {"17850": "United Kingdom", "12583": "France", "13047": "United Kingdom",
             "12662": "Germany", "14688": "EIRE", "15311": "United Kingdom"}
PRODUCTS = [(f"{85000 + i}{'AB'[i % 2]}", f"{adj} {thing} {kind}")
            for i, (adj, thing, kind) in enumerate(
                (a, t, k) for a in ("WHITE", "RED", "PINK", "BLUE", "GREEN")
                for t in ("HANGING HEART", "METAL LANTERN", "CERAMIC")
                for k in ("HOLDER", "BOX"))]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def retail_file(path: Path, seed: int = 1) -> tuple[Path, int]:
    """Receipt lines shaped like UCI Online Retail, with lines of unknown customers."""
    rng = random.Random(seed)
    rows: list[list[object]] = []
    for n in range(60):
        customer = list(COUNTRIES)[n % len(COUNTRIES)] if n % 10 else ""
        code, text = PRODUCTS[rng.randrange(len(PRODUCTS))]
        country = COUNTRIES.get(customer, "United Kingdom")
        rows.append([536365 + n // 3, code, text, rng.randint(1, 12),
                     f"2010-12-{1 + n % 28:02d} 08:{n % 60:02d}:00", f"{rng.randint(1, 900) / 100}",
                     customer, country])
    header = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
              "UnitPrice", "CustomerID", "Country"]
    return write_csv(path, header, rows), sum(1 for r in rows if r[6] == "")


def attributes_of(ws: Workspace, attribute: str) -> dict[str, str]:
    return dict(ws.connection.execute(
        "SELECT customer_id, coalesce(text, CAST(number AS VARCHAR)) FROM customer_attributes "
        "WHERE attribute = ? ORDER BY 1", [attribute]).fetchall())


def test_a_country_constant_per_customer_becomes_an_attribute(
    ws: Workspace, tmp_path: Path
) -> None:
    path, anonymous = retail_file(tmp_path / "retail.csv")
    report = ingest_file(ws, "transactions", path, register_unknown=True)
    assert (report.rows_read, report.rows_quarantined) == (60, anonymous)
    assert report.attributes == {"country": "categorical"}
    assert report.set_aside == {"StockCode": "an identifier (its name says so)",
                                "Description": "free text"}
    assert attributes_of(ws, "country") == COUNTRIES
    source = ws.connection.execute(
        "SELECT source_table, source_column, meaning FROM attribute_catalog").fetchall()
    assert source == [("transactions", "Country",
                       "Country: a category (4 values), one value per customer, from the "
                       "transactions file")]
    again = ingest_file(ws, "transactions", path, register_unknown=True)
    assert (again.rows_new, again.rows_unchanged) == (0, 60 - anonymous)
    stamps = ws.connection.execute(
        "SELECT DISTINCT _ingest_id FROM customer_attributes").fetchall()
    assert stamps == [(report.ingest_id,)]  # the second load changed nothing


def receipts(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    """Receipts shaped like the Istanbul mall file: gender and age on every line."""
    lines = [[f"I{100 + i}", customer, gender, age, "Clothing", 1 + i % 3, f"{150 + i}.5", pay,
              f"{1 + i % 27}/{1 + i % 12}/2022", "Kanyon"]
             for i, (customer, gender, age, pay, _note) in enumerate(rows)]
    header = ["invoice_no", "customer_id", "gender", "age", "category", "quantity", "price",
              "payment_method", "invoice_date", "shopping_mall"]
    return write_csv(path, header, lines)


def test_customer_columns_of_receipts_fill_empty_customer_values(
    ws: Workspace, tmp_path: Path
) -> None:
    known = tmp_path / "customers.csv"
    known.write_text("customer_id,gender,age\nC_known,male,40\nC_blank,,\n")
    ingest_file(ws, "customers", known)
    rows = [(f"C{i}", "Female" if i % 2 else "Male", str(20 + i), "Cash", "") for i in range(20)]
    rows += [
        ("C_known", "Kadın", "33", "Credit Card", "known gender and age are kept"),
        ("C_blank", "Erkek", "51", "Debit Card", "empty values are filled"),
        ("C_split", "Female", "30", "Cash", "rows that disagree fill nothing"),
        ("C_split", "Male", "30", "Cash", ""),
        ("C_old", "Female", "150", "Cash", "an impossible age fills nothing"),
    ]
    path = receipts(tmp_path / "receipts.csv", rows)
    report = ingest_file(ws, "transactions", path, column_map={"price": "amount"},
                         register_unknown=True)
    assert (report.rows_read, report.rows_loaded) == (25, 25)
    assert report.registered == {"customers": 22, "stores": 1}
    assert report.customers_filled == {"gender": 22, "age": 22}
    assert report.attributes == {"payment_method": "categorical"}
    people = dict((r[0], r[1:]) for r in ws.connection.execute(
        "SELECT customer_id, gender, age FROM customers").fetchall())
    assert people["C_known"] == ("male", 40)
    assert people["C_blank"] == ("male", 51)
    assert people["C_split"] == (None, 30)
    assert people["C_old"] == ("female", None)
    assert people["C3"] == ("female", 23) and people["C4"] == ("male", 24)
    assert attributes_of(ws, "payment_method")["C_blank"] == "Debit Card"
    assert "gender: filled for 22 customers whose value was empty" in " ".join(report.notes)
    again = ingest_file(ws, "transactions", path, column_map={"price": "amount"},
                        register_unknown=True)
    assert again.customers_filled == {} and again.registered == {}


def test_a_varying_category_keeps_the_customers_most_frequent_value(
    ws: Workspace, tmp_path: Path
) -> None:
    ingest_file(ws, "customers", write_csv(tmp_path / "c.csv", ["customer_id"],
                                           [["A"], ["B"], ["C"]]))
    doors = {"A": ["north", "north", "south", "north"], "B": ["east", "west", "west"],
             "C": ["south", "north"]}  # C: a tie, the first in name order wins
    rows = [[c, f"2026-01-0{1 + i} 1{i}:00", door]
            for c, seen in doors.items() for i, door in enumerate(seen)]
    report = ingest_file(ws, "visits", write_csv(tmp_path / "v.csv",
                                                 ["customer_id", "entered_at", "door"], rows))
    assert report.attributes == {"door_most_often": "categorical"}
    assert attributes_of(ws, "door_most_often") == {"A": "north", "B": "west", "C": "north"}
    meaning = ws.connection.execute("SELECT meaning FROM attribute_catalog").fetchone()
    assert meaning == ("door: the customer's most frequent value, from the visits file",)


def test_numbers_that_vary_per_row_are_set_aside(ws: Workspace, tmp_path: Path) -> None:
    ingest_file(ws, "customers", write_csv(tmp_path / "c.csv", ["customer_id"], [["A"], ["B"]]))
    rows = [["A" if i % 2 else "B", f"2026-01-{1 + i:02d} 10:00", 5 + i, 0.1 * (i % 3)]
            for i in range(24)]
    report = ingest_file(ws, "transactions", write_csv(
        tmp_path / "t.csv", ["customer_id", "purchased_at", "amount", "retail_disc"], rows))
    assert report.set_aside == {
        "retail_disc": "varies within a customer's rows: a number per row, not a customer "
                       "attribute"}
    assert report.attributes == {}


@pytest.fixture
def small_units(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decide from the first 12 rows and read in tiny blocks, so that units are small."""
    monkeypatch.setattr(staging, "DECISION_ROWS", 12)
    monkeypatch.setattr(csv_reader, "_BLOCK_BYTES", 64)


@pytest.mark.usefixtures("small_units")
def test_values_counted_across_units_match_one_unit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    units: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for unit in stage_units(*args, **kwargs):
            units.append(unit.rows)
            yield unit

    monkeypatch.setattr(ingest_module, "stage_units", counted)
    rng = random.Random(5)
    rows = [[c, f"2026-02-{1 + i % 28:02d} 10:00", 3 + i, {"A": "uk", "B": "fr", "C": "de"}[c],
             rng.choice(["card", "cash", "cash", "voucher"])]
            for i, c in enumerate(rng.choice("ABC") for _ in range(90))]
    path = write_csv(tmp_path / "t.csv", ["customer_id", "purchased_at", "amount", "country",
                                          "pay"], rows)

    def load(folder: Path, unit_rows: int) -> list[tuple]:
        with Workspace.open(folder) as ws:
            ingest_file(ws, "customers", write_csv(tmp_path / "c.csv", ["customer_id"],
                                                   [["A"], ["B"], ["C"]]))
            report = ingest_file(ws, "transactions", path, unit_rows=unit_rows)
            assert report.attributes == {"country": "categorical",
                                         "pay_most_often": "categorical"}
            return ws.connection.execute(
                "SELECT customer_id, attribute, text FROM customer_attributes ORDER BY ALL"
            ).fetchall()

    expected = []
    for customer in "ABC":
        pays = [r[4] for r in rows if r[0] == customer]
        counts = {p: pays.count(p) for p in set(pays)}
        best = sorted(counts, key=lambda p: (-counts[p], p))[0]
        expected += [(customer, "country", {"A": "uk", "B": "fr", "C": "de"}[customer]),
                     (customer, "pay_most_often", best)]
    assert load(tmp_path / "one", 1_000) == sorted(expected)
    assert units[-1] == 90  # one unit (after the customers' one)
    units.clear()
    assert load(tmp_path / "many", 7) == sorted(expected)
    assert len(units) > 8 and sum(units[1:]) == 90
