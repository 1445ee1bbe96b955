"""Ingest every public data set in a folder that matches a canonical table, segment, report.

Usage: python tools/check_datasets.py ../shared/datasets [--out docs/DATASETS.md]

For each file the expected canonical table is tried with automatic mapping only; the
result is either the reconciled counts or the one-line explanation of the mapping needed.
Then every workspace that loaded customers or transactions is segmented as a new user
would (`mallseg segment --k auto`: the default lens) and, with purchases, scored in RFM
groups; the segments, their names and numbers are listed, and every word of every name is
checked against the evidence kept with it. Not part of the test suite: the data sets are
not shipped with mallseg.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mallseg.app.segment import SegmentRequest, SegmentResult, segment_customers
from mallseg.data.errors import IngestError
from mallseg.data.ingest import ingest_file
from mallseg.segment.naming import DEFAULT_NAMING_RULES, SegmentName
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
                reasons = "; ".join(f"{reason[1]:,} {reason[-1]}" for reason in r.top_reasons[:3])
                mapping = ", ".join(f"{s}→{c}" for c, s in r.mapping.items())
                result = (
                    f"read {r.rows_read:,} = loaded {r.rows_loaded:,} + quarantined "
                    f"{r.rows_quarantined:,} ({time.perf_counter() - started:.1f} s). "
                    f"Mapping: {mapping}."
                    + (f" Registered: {r.registered}." if r.registered else "")
                    + (f" Quarantine: {reasons}." if reasons else "")
                    + (f" Kept as attributes: {', '.join(getattr(r, 'attributes', {}))}."
                       if getattr(r, "attributes", None) else "")
                    + (f" Set aside: {r.set_aside}." if getattr(r, "set_aside", None)
                       else "")
                    + (f" Notes: {' '.join(r.notes)}" if r.notes else "")
                )
            shown = rel + "".join(f" `--map {k}={v}`" for k, v in column_map.items())
            lines.append(f"| {shown} | {table} | {result.replace('|', '/')} |")
        lines += ["", "## Segments a new user gets", ""]
        for ws_name, ws in workspaces.items():
            lines += _segment_section(ws_name, ws)
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


def _segment_section(name: str, ws: Workspace) -> list[str]:
    """Segment one workspace with the defaults (and RFM with purchases); list the result."""
    if ws.table_count("customers") == 0:
        return []
    lines = [f"### {name}", ""]
    requests = [("`mallseg segment --k auto`", SegmentRequest(n_resamples=5))]
    if ws.table_count("transactions"):
        requests.append(("`mallseg segment --method rfm`", SegmentRequest(method="rfm")))
    for command, request in requests:
        started = time.perf_counter()
        try:
            result = segment_customers(ws, request)
        except ValueError as exc:
            lines += [f"{command}: {exc}", ""]
            continue
        lines += _describe(command, result, time.perf_counter() - started)
    return lines


def _describe(command: str, result: SegmentResult, seconds: float) -> list[str]:
    lens = result.lens if isinstance(result.lens, str) else "custom"
    selection = result.selection
    how = (f"{selection.regime}, {selection.chosen.algorithm} k={result.k}"
           if selection is not None else f"{result.k} groups")
    lines = [
        f"{command} ({seconds:.0f} s): {lens} lens ({', '.join(result.features)}); {how}. "
        f"{result.schema.sentence()}",
    ]
    if selection is not None:
        lines.append(f"{selection.structure.sentence()}")
        lines += [f"Note: {note}." for note in selection.notes]
    lines += ["", "| segment | customers | backed | what the numbers say |", "|---|---|---|---|"]
    for _, row in result.segment_table().iterrows():
        named = result.names.get(int(row["segment"]))
        check = _backed(named) if named is not None else "n/a"
        lines.append(f"| {row['name']} | {row['size']:,} ({row['share']:.0%}) | {check} | "
                     f"{str(row['description']).replace('|', '/')} |")
    return [*lines, ""]


def _backed(named: SegmentName) -> str:
    """'yes' when every word taken from a feature meets the naming rule's thresholds."""
    rules = DEFAULT_NAMING_RULES
    for e in named.evidence:
        numeric_side = e.level is not None or (
            (e.segment_value - e.population_value) * e.effect_size > 0
            and e.member_share >= rules.min_member_share)
        if abs(e.effect_size) < rules.min_effect or e.coverage < rules.min_coverage or (
                not numeric_side) or (e.level is not None and e.segment_value < 0.5):
            return f"NO ({e.word})"
    return "yes" if named.evidence else "yes (no feature word)"


if __name__ == "__main__":
    main()
