"""Every column of a customers file is usable: kept as an attribute, or set aside with why."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mallseg.data.errors import IngestError
from mallseg.data.ingest import ingest_file
from mallseg.workspace import Workspace

MNT = ["MntWines", "MntFruits", "MntMeatProducts", "MntFishProducts", "MntSweetProducts",
       "MntGoldProds"]
NUM = ["NumDealsPurchases", "NumWebPurchases", "NumCatalogPurchases", "NumStorePurchases"]
FLAGS = ["AcceptedCmp3", "AcceptedCmp4", "AcceptedCmp5", "AcceptedCmp1", "AcceptedCmp2",
         "Complain", "Response"]


def marketing_rows(n: int = 60, seed: int = 7) -> list[dict[str, object]]:
    """Rows shaped like the public marketing-campaign customer table."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row: dict[str, object] = {
            "ID": 5000 + i,
            "Year_Birth": rng.randint(1945, 1999),
            "Education": rng.choice(["Graduation", "PhD", "Master", "Basic", "2n Cycle"]),
            "Marital_Status": rng.choice(["Single", "Married", "Together", "Divorced"]),
            "Income": rng.randint(20_000, 90_000),
            "Kidhome": rng.choice([0, 0, 0, 1, 1, 2]),
            "Teenhome": rng.choice([0, 0, 1, 1, 2]),
            "Dt_Customer": f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-"
                           f"{rng.randint(2012, 2014)}",
            "Recency": rng.randint(0, 99),
        }
        row.update({m: rng.randint(0, 1500) for m in MNT})
        row.update({c: rng.randint(0, 12) for c in NUM})
        row["NumWebVisitsMonth"] = rng.randint(0, 10)
        row.update({f: int(rng.random() < 0.3) for f in FLAGS})
        row["Z_CostContact"], row["Z_Revenue"] = 3, 11
        rows.append(row)
    return rows


def write_tab(path: Path, rows: list[dict[str, object]]) -> Path:
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def catalog(ws: Workspace) -> dict[str, tuple]:
    rows = ws.connection.execute(
        "SELECT attribute, source_column, value_type, kind, family, member, meaning "
        "FROM attribute_catalog").fetchall()
    return {r[0]: r[1:] for r in rows}


def attribute_values(ws: Workspace, attribute: str) -> dict[str, object]:
    rows = ws.connection.execute(
        "SELECT customer_id, coalesce(CAST(number AS VARCHAR), text) FROM customer_attributes "
        "WHERE attribute = ?", [attribute]).fetchall()
    return {r[0]: r[1] for r in rows}


def test_a_marketing_campaign_table_keeps_every_meaningful_column(
    ws: Workspace, tmp_path: Path
) -> None:
    rows = marketing_rows()
    report = ingest_file(ws, "customers", write_tab(tmp_path / "marketing.csv", rows))
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (60, 60, 0)
    assert report.mapping == {"customer_id": "ID", "birth_year": "Year_Birth",
                              "annual_income": "Income", "signup_date": "Dt_Customer"}
    assert report.attributes == {
        "education": "categorical", "marital_status": "categorical", "kidhome": "count",
        "teenhome": "count", "recency": "numeric",
        **{name: "money" for name in ("mnt_wines", "mnt_fruits", "mnt_meat_products",
                                      "mnt_fish_products", "mnt_sweet_products",
                                      "mnt_gold_prods")},
        **{name: "count" for name in ("num_deals_purchases", "num_web_purchases",
                                      "num_catalog_purchases", "num_store_purchases",
                                      "num_web_visits_month")},
        **{name: "flag" for name in ("accepted_cmp3", "accepted_cmp4", "accepted_cmp5",
                                     "accepted_cmp1", "accepted_cmp2", "complain",
                                     "response")},
    }
    assert report.set_aside == {"Z_CostContact": "constant, says nothing",
                                "Z_Revenue": "constant, says nothing"}
    assert report.ignored_columns == [] and report.warnings == []
    described = catalog(ws)
    spend = {a: (row[3], row[4]) for a, row in described.items() if row[3] == "spend"}
    assert spend == {"mnt_wines": ("spend", "wines"), "mnt_fruits": ("spend", "fruits"),
                     "mnt_meat_products": ("spend", "meat_products"),
                     "mnt_fish_products": ("spend", "fish_products"),
                     "mnt_sweet_products": ("spend", "sweet_products"),
                     "mnt_gold_prods": ("spend", "gold_prods")}
    purchases = {a: row[4] for a, row in described.items() if row[3] == "purchases"}
    assert purchases == {"num_deals_purchases": "deals", "num_web_purchases": "web",
                         "num_catalog_purchases": "catalog", "num_store_purchases": "store"}
    assert described["mnt_wines"][-1] == "MntWines: spend on wines, from the customers file"
    assert described["response"][1:3] == ("boolean", "flag")
    assert described["education"][1:3] == ("category", "categorical")
    # the values are the file's values, one row per customer and attribute
    assert attribute_values(ws, "mnt_wines") == {
        str(r["ID"]): str(float(r["MntWines"])) for r in rows}
    assert attribute_values(ws, "education") == {str(r["ID"]): r["Education"] for r in rows}
    assert attribute_values(ws, "response") == {
        str(r["ID"]): str(float(r["Response"])) for r in rows}
    stored = ws.connection.execute("SELECT count(*) FROM customer_attributes").fetchone()
    assert stored == (60 * 23,)


def test_loading_the_same_file_again_changes_no_attribute(ws: Workspace, tmp_path: Path) -> None:
    path = write_tab(tmp_path / "m.csv", marketing_rows())
    ingest_file(ws, "customers", path)
    before = ws.connection.execute("SELECT * FROM customer_attributes ORDER BY ALL").fetchall()
    described = ws.connection.execute("SELECT * FROM attribute_catalog ORDER BY ALL").fetchall()
    again = ingest_file(ws, "customers", path)
    assert (again.rows_new, again.rows_updated, again.rows_unchanged) == (0, 0, 60)
    assert ws.connection.execute(
        "SELECT * FROM customer_attributes ORDER BY ALL").fetchall() == before
    assert ws.connection.execute(
        "SELECT * FROM attribute_catalog ORDER BY ALL").fetchall() == described


def test_a_changed_file_replaces_the_values_of_the_customers_it_carries(
    ws: Workspace, tmp_path: Path
) -> None:
    rows = marketing_rows()
    ingest_file(ws, "customers", write_tab(tmp_path / "m.csv", rows))
    changed = [dict(r) for r in rows[:3]]
    changed[0]["MntWines"] = 4321
    changed[1]["MntWines"] = ""
    report = ingest_file(ws, "customers", write_tab(tmp_path / "m2.csv", changed))
    # attributes never change the row counts: the canonical columns are the same
    assert (report.rows_read, report.rows_unchanged) == (3, 3)
    wines = attribute_values(ws, "mnt_wines")
    assert wines["5000"] == "4321.0"
    assert "5001" not in wines  # emptied in the new file
    assert wines["5002"] == str(float(rows[2]["MntWines"]))
    assert wines["5010"] == str(float(rows[10]["MntWines"]))  # not in the new file: kept
    assert len(wines) == 59


def test_values_that_do_not_parse_are_left_empty_and_counted(
    ws: Workspace, tmp_path: Path
) -> None:
    rows = marketing_rows()
    for row in rows[:3]:
        row["MntWines"] = "lots"
    report = ingest_file(ws, "customers", write_tab(tmp_path / "m.csv", rows))
    assert (report.rows_loaded, report.rows_quarantined) == (60, 0)
    assert report.warnings == ["mnt_wines: 3 values are not numbers, left empty"]
    assert len(attribute_values(ws, "mnt_wines")) == 57


def test_columns_set_aside_with_their_reason(ws: Workspace, tmp_path: Path) -> None:
    n = 40
    frame = pd.DataFrame({
        "customer_id": [f"C{i:03d}" for i in range(n)],
        "loyalty_no": [f"L{i:06d}" for i in range(n)],
        "voucher": [f"x{i * 7919 % 10007}" for i in range(n)],
        "feedback": [f"the parking was full on visit {i}, the lifts slow" for i in range(n)],
        "last_visit": [f"2025-0{1 + i % 9}-1{i % 10}" for i in range(n)],
        "channel_pref": ["email", "sms", "app", "none"] * (n // 4),
        "contact": [f"person{i}@example.org" for i in range(n)],
        "score_pct": [round(i / n, 3) for i in range(n)],
        "Tier": ["gold", "silver"] * (n // 2),
        "loyalty_tier": ["g", "s", "b", "n"] * (n // 4),
        "batch": ["2024-A"] * n,
        "empty_col": [""] * n,
    })
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    report = ingest_file(ws, "customers", path, column_map={"Tier": "loyalty_tier"})
    assert report.set_aside == {
        "contact": "personal data: values look like e-mail addresses (40 of 40 sampled)",
        "loyalty_no": "an identifier (its name says so)",
        "voucher": "an identifier (100% of its values are distinct)",
        "feedback": "free text",
        "last_visit": "a date or time that maps to no canonical column: map it to one with "
                      "--map COLUMN=CANONICAL (e.g. signup_date)",
        "batch": "constant, says nothing",
        "empty_col": "empty in every row",
    }
    assert report.attributes == {"channel_pref": "categorical", "score_pct": "share",
                                 "loyalty_tier_attr": "categorical"}
    assert report.dropped_pii_columns == ["contact"]
    stored = json.dumps(ws.connection.execute(
        "SELECT * FROM customer_attributes").fetchall(), default=str)
    assert "example.org" not in stored and "parking" not in stored


def test_rejected_rows_keep_only_stored_columns_in_the_quarantine(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "customer_id,customer_email,mobile_phone,age,segment,memo_field,voucher\n"
        "c1,ann@example.org,+44 20 7946 0958,30,a,call back,v1\n"
        "c2,bob@example.org,+44 20 7946 0000,999,b,likes cats,v1\n"
        "c3,cy@example.org,+44 20 7946 1111,41,a,x,v1\n"
        "c4,di@example.org,+44 20 7946 2222,42,b,extra,field,v1\n")
    report = ingest_file(ws, "customers", path)
    assert report.dropped_pii_columns == ["customer_email", "mobile_phone", "memo_field"]
    assert report.attributes == {"segment": "categorical"}
    assert report.set_aside["voucher"] == "constant, says nothing"
    assert report.rows_quarantined == 2
    raws = [json.loads(r[0]) for r in ws.connection.execute(
        "SELECT raw_record FROM quarantine ORDER BY source_row").fetchall()]
    # mapped and attribute columns only: personal data and set-aside columns never
    assert raws[0] == {"customer_id": "c2", "age": "999", "segment": "b"}
    # a malformed line's fields may be shifted: nothing from the first column not kept on
    assert raws[1] == {"customer_id": "c4"}
    stored = json.dumps(ws.connection.execute("SELECT * FROM quarantine").fetchall(),
                        default=str)
    assert "example.org" not in stored and "7946" not in stored and "cats" not in stored


def test_explicit_spend_columns_form_the_spend_family(ws: Workspace, tmp_path: Path) -> None:
    rng = random.Random(3)
    names = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
    frame = pd.DataFrame({"Customer": [f"W{i}" for i in range(30)],
                          "Channel": [1 + i % 2 for i in range(30)],
                          "Region": [1 + i % 3 for i in range(30)],
                          **{c: [rng.randint(3, 60_000) for _ in range(30)] for c in names}})
    path = tmp_path / "wholesale.csv"
    frame.to_csv(path, index=False)
    report = ingest_file(ws, "customers", path, spend_columns=names)
    assert {a: k for a, k in report.attributes.items() if k == "money"} == {
        "fresh": "money", "milk": "money", "grocery": "money", "frozen": "money",
        "detergents_paper": "money", "delicassen": "money"}
    members = ws.connection.execute(
        "SELECT list(member ORDER BY member) FROM attribute_catalog WHERE family = 'spend'"
    ).fetchone()
    assert members == (sorted(["fresh", "milk", "grocery", "frozen", "detergents_paper",
                               "delicassen"]),)
    with pytest.raises(IngestError, match="--spend-columns names 'Sugar', which the file"):
        ingest_file(ws, "customers", path, spend_columns=["Sugar"])
    with pytest.raises(IngestError, match=r"maps to customers\.customer_id"):
        ingest_file(ws, "customers", path, spend_columns=["Customer"])


def test_nested_parquet_columns_are_set_aside_or_refused(ws: Workspace, tmp_path: Path) -> None:
    pq.write_table(pa.table({"customer_id": ["A", "B"], "tags": [[1, 2], [3]],
                             "home": [{"city": "x"}, {"city": "y"}]}), tmp_path / "c.parquet")
    report = ingest_file(ws, "customers", tmp_path / "c.parquet")
    assert report.rows_loaded == 2
    reason = "nested values (lists or structs) cannot be attributes"
    assert report.set_aside == {"tags": reason, "home": reason}
    pq.write_table(pa.table({"customer_id": [["A"], ["B"]]}), tmp_path / "bad.parquet")
    with pytest.raises(IngestError) as err:
        ingest_file(ws, "customers", tmp_path / "bad.parquet")
    assert str(err.value) == (
        f"{tmp_path / 'bad.parquet'}: column 'customer_id' (mapped to customers.customer_id) "
        "holds nested values (lists or structs); expected one value per row: flatten it "
        "before ingest, or map another column")
