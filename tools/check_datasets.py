"""Ingest every public data set in a folder that matches a canonical table, and report.

Usage: python tools/check_datasets.py ../shared/datasets [--out docs/DATASETS.md]

For each file the expected canonical table is tried with automatic mapping only; the
result is either the reconciled counts or the one-line explanation of the mapping needed.
Not part of the test suite: the data sets are not shipped with mallseg.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mallseg.data.errors import IngestError
from mallseg.data.ingest import ingest_file
from mallseg.workspace import Workspace

# (workspace, table, relative path, register unknown references[, explicit mapping])
PLAN: list[tuple[str, str, str, bool] | tuple[str, str, str, bool, dict[str, str]]] = [
    ("classic", "customers", "mall_customers/Mall_Customers.csv", False),
    ("personality", "customers", "customer_personality/marketing_campaign.csv", False),
    ("journey", "customers", "completejourney/demographics.csv", False),
    ("journey", "campaigns", "completejourney/campaign_descriptions.csv", False),
    ("journey", "exposures", "completejourney/campaigns.csv", True),
    ("journey", "exposures", "completejourney/coupon_redemptions.csv", True),
    ("journey", "transactions", "completejourney/transactions_sample.csv", True),
    ("retail", "transactions", "online_retail/online_retail.csv.gz", True),
    ("cdnow", "transactions", "cdnow/CDNOW_master.csv", True),
    ("cdnow_txt", "transactions", "cdnow/CDNOW_master.txt", True),
    ("istanbul", "customers", "istanbul_mall_shopping/customer_shopping_data.csv", False),
    ("istanbul", "transactions", "istanbul_mall_shopping/customer_shopping_data.csv", True),
    ("istanbul", "transactions", "istanbul_mall_shopping/customer_shopping_data.csv", True,
     {"price": "amount"}),
    ("supermarket", "transactions", "supermarket_sales/supermarket_sales - Sheet1.csv", True),
    ("shoppers", "visits", "online_shoppers_intention/online_shoppers_intention.csv", True),
    ("wholesale", "customers", "wholesale_customers/Wholesale customers data.csv", False),
    ("groceries", "transactions", "groceries/groceries.csv", True),
]


def main() -> None:
    """Ingest each planned file and print (or write) the results table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("datasets", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines = [
        "| file | table | result |",
        "|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        workspaces: dict[str, Workspace] = {}
        for ws_name, table, rel, register, *given in PLAN:
            column_map = given[0] if given else {}
            path = args.datasets / rel
            ws = workspaces.setdefault(ws_name, Workspace.open(Path(tmp) / ws_name))
            started = time.perf_counter()
            try:
                r = ingest_file(ws, table, path, register_unknown=register,
                                column_map=column_map)
            except IngestError as exc:
                result = f"explains: {str(exc).replace(str(path), Path(rel).name)}"
            else:
                assert r.rows_read == r.rows_loaded + r.rows_quarantined
                reasons = "; ".join(f"{n:,} {why}" for why, n in r.top_reasons[:3])
                mapping = ", ".join(f"{s}→{c}" for c, s in r.mapping.items())
                result = (
                    f"read {r.rows_read:,} = loaded {r.rows_loaded:,} + quarantined "
                    f"{r.rows_quarantined:,} ({time.perf_counter() - started:.1f} s). "
                    f"Mapping: {mapping}."
                    + (f" Registered: {r.registered}." if r.registered else "")
                    + (f" Quarantine: {reasons}." if reasons else "")
                    + (f" Notes: {' '.join(r.notes)}" if r.notes else "")
                )
            shown = rel + "".join(f" `--map {k}={v}`" for k, v in column_map.items())
            lines.append(f"| {shown} | {table} | {result.replace('|', '/')} |")
        for ws in workspaces.values():
            ws.close()
    text = "\n".join(lines)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            "# Public data sets through `mallseg ingest`\n\n"
            "Made by `python tools/check_datasets.py ../shared/datasets --out docs/DATASETS.md`"
            " (automatic mapping unless a `--map` is shown; `--register-unknown` for event "
            "tables).\n\n"
            + text + "\n"
        )
    print(text)


if __name__ == "__main__":
    main()
