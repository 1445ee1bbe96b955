"""Run the synthetic mall: draw customers block by block and write every table in chunks.

Customers are drawn in fixed blocks of :data:`BLOCK_CUSTOMERS`, each from its own random
stream ``SeedSequence(seed, spawn_key=(1, block))``; the mall (stores, campaigns) comes from
``spawn_key=(0,)``. So the same arguments give the same rows in the same order whatever
``chunk_customers`` is: chunking only decides how many blocks go into one written part and
how much is held in memory at once.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mallseg import __version__
from mallseg.datasets.simulate.activity import HOLDOUT_SHARE, UPLIFT_STATS, simulate_activity
from mallseg.datasets.simulate.customers import draw_customers
from mallseg.datasets.simulate.drift import DriftSpec, parse_drift
from mallseg.datasets.simulate.personas import LOYALTY_TIERS, Persona, select_personas
from mallseg.datasets.simulate.truth import (
    CUSTOMER_PERSONAS_SCHEMA,
    campaign_uplift_table,
    drift_table,
    personas_table,
)
from mallseg.datasets.simulate.world import SECONDS_PER_DAY, World, build_world
from mallseg.datasets.simulate.writer import FileFormat, PartWriter, canonical_arrow_schema

__all__ = [
    "BLOCK_CUSTOMERS",
    "INPUT_TABLES",
    "TRUTH_TABLES",
    "SimulationSummary",
    "simulate_mall",
]

BLOCK_CUSTOMERS = 1000
"""Customers per random-stream block (the unit of determinism)."""

INPUT_TABLES: tuple[str, ...] = (
    "customers", "stores", "campaigns", "visits", "transactions", "exposures",
)
TRUTH_TABLES: tuple[str, ...] = ("customer_personas", "personas", "campaign_uplift", "drift")
MANIFEST_FILE = "simulation.json"
_EVENT_ID_WIDTH = 10
_GENDERS = pa.array(["female", "male", "other"])
_TIERS = pa.array(list(LOYALTY_TIERS))


@dataclass
class SimulationSummary:
    """What a simulation wrote.

    ``rows`` maps each input table name (``"visits"``) and each truth table
    (``"truth/customer_personas"``) to the rows written.
    """

    out_dir: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` as an Arrow string array (built in C++)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()),
                          width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _timestamps(world: World, seconds: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    micros = (world.start_epoch_s + seconds).astype(np.int64) * 1_000_000
    return pa.array(micros.astype("datetime64[us]"), type=pa.timestamp("us"), mask=null)


def _dates(world: World, days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    epoch_days = world.start_epoch_s // SECONDS_PER_DAY + days.astype(np.int64)
    return pa.array(epoch_days.astype("datetime64[D]"), type=pa.date32(), mask=null)


def _validate(customers: int, days: int, seed: int, chunk_customers: int,
              file_format: str) -> None:
    for name, value, low in (("customers", customers, 1), ("days", days, 1),
                             ("seed", seed, 0), ("chunk_customers", chunk_customers, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name}={value!r} must be an integer")
        if value < low:
            raise ValueError(f"{name}={value} must be >= {low}")
    if customers > 99_999_999:
        raise ValueError(f"customers={customers} must be <= 99,999,999")
    if file_format not in ("parquet", "csv"):
        raise ValueError(f"file_format={file_format!r} must be 'parquet' or 'csv'")


def simulate_mall(
    out_dir: str | Path,
    *,
    customers: int = 20_000,
    days: int = 182,
    seed: int = 0,
    personas: int | Sequence[str | Persona] | None = None,
    drift: DriftSpec | str | None = None,
    start_date: date = date(2026, 1, 1),
    file_format: FileFormat = "parquet",
    chunk_customers: int = 50_000,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationSummary:
    """Simulate a mall with known personas and write its tables under ``out_dir``.

    Parameters
    ----------
    out_dir:
        Output folder. Inputs go to ``out_dir/inputs/<table>/part-NNNNN.<ext>``, the
        ground truth to ``out_dir/truth/<table>/part-NNNNN.<ext>``, the parameters and
        row counts to ``out_dir/simulation.json``. Earlier parts there are replaced.
    customers:
        Number of customers (ids ``C0000001`` ...).
    days:
        Length of the period in days, from ``start_date``.
    seed:
        Random seed (>= 0): same arguments and seed give byte-identical tables.
    personas:
        ``None`` for the 8 default personas, ``k`` for the first ``k``, or names /
        :class:`~mallseg.datasets.simulate.personas.Persona` objects.
    drift:
        A :class:`DriftSpec` or text such as ``"mix:0.5"``, ``"behaviour:0.3"``, ``"none"``.
    start_date:
        First day of the period.
    file_format:
        ``"parquet"`` or ``"csv"`` (header in every part).
    chunk_customers:
        Customers generated and written per part (rounded up to a multiple of 1000);
        memory grows with it, the data does not change.
    progress:
        Called as ``progress(done_customers, total_customers)`` after each chunk.

    Returns
    -------
    SimulationSummary
        The folder, rows written per table and the seconds it took.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     summary = simulate_mall(folder, customers=300, days=30, seed=1)
    ...     (summary.rows["customers"], summary.rows["stores"])
    (300, 124)
    """
    started = time.perf_counter()
    _validate(customers, days, seed, chunk_customers, file_format)
    chosen = select_personas(personas)
    drift_spec = parse_drift(drift)
    world = build_world(start=start_date, days=days, personas=chosen, drift=drift_spec,
                        seed=int(seed))
    out = Path(out_dir)
    inputs, truth = out / "inputs", out / "truth"
    writers = {t: PartWriter(inputs, t, canonical_arrow_schema(t), file_format)
               for t in INPUT_TABLES}
    writers["truth/customer_personas"] = PartWriter(
        truth, "customer_personas", CUSTOMER_PERSONAS_SCHEMA, file_format)

    writers["stores"].write(_stores_table(world))
    writers["campaigns"].write(_campaigns_table(world))

    id_width = max(7, len(str(customers)))
    n_blocks = math.ceil(customers / BLOCK_CUSTOMERS)
    per_chunk = max(1, math.ceil(chunk_customers / BLOCK_CUSTOMERS))
    counters = {"visits": 0, "transactions": 0}
    stats = np.zeros((len(world.campaigns), world.n_personas, len(UPLIFT_STATS)))
    persona_counts = np.zeros(world.n_personas, dtype=np.int64)

    def write_chunk(chunk: dict[str, np.ndarray]) -> None:
        cust_ids = _ids("C", chunk["_numbers"] + 1, id_width)
        for table, builder in _CHUNK_TABLES:
            writers[table].write(builder(world, chunk, cust_ids))

    # One writer thread builds the Arrow tables and writes a chunk while the next one is
    # drawn (both numpy and Arrow release the GIL); at most one chunk waits, and parts
    # are written in chunk order, so the files do not depend on the timing.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mallseg-simulate") as pool:
        pending: tuple[Future[None], int] | None = None
        for first_block in range(0, n_blocks, per_chunk):
            blocks = range(first_block, min(first_block + per_chunk, n_blocks))
            chunk = _simulate_chunk(world, int(seed), customers, blocks, counters)
            stats += chunk.pop("_stats")
            persona_counts += chunk.pop("_persona_counts")
            if pending is not None:
                _finish(pending, progress, customers)
            pending = (pool.submit(write_chunk, chunk),
                       min(blocks.stop * BLOCK_CUSTOMERS, customers))
        if pending is not None:
            _finish(pending, progress, customers)

    rows = {t: w.rows for t, w in writers.items()}
    small_truth = {
        "personas": personas_table(world, persona_counts),
        "campaign_uplift": campaign_uplift_table(world, stats),
        "drift": drift_table(world),
    }
    for name, table in small_truth.items():
        writer = PartWriter(truth, name, table.schema, file_format)
        writer.write(table)
        rows[f"truth/{name}"] = writer.rows
    _write_manifest(out, world, customers, int(seed), file_format, rows)
    return SimulationSummary(out_dir=out, rows=rows, seconds=time.perf_counter() - started)


def _finish(pending: tuple[Future[None], int], progress: Callable[[int, int], None] | None,
            total: int) -> None:
    """Wait for a chunk's writes (re-raising their error), then report progress."""
    future, done = pending
    future.result()
    if progress is not None:
        progress(done, total)


def _simulate_chunk(world: World, seed: int, customers: int, blocks: range,
                    counters: dict[str, int]) -> dict[str, np.ndarray]:
    """Simulate the blocks of one chunk; event numbers continue the running counters."""
    parts: dict[str, list[np.ndarray]] = {}

    def add(name: str, values: np.ndarray) -> None:
        parts.setdefault(name, []).append(values)

    stats = np.zeros((len(world.campaigns), world.n_personas, len(UPLIFT_STATS)))
    persona_counts = np.zeros(world.n_personas, dtype=np.int64)
    for block in blocks:
        first = block * BLOCK_CUSTOMERS
        n = min(BLOCK_CUSTOMERS, customers - first)
        rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(1, block)))
        cust = draw_customers(rng, world, first, n)
        act = simulate_activity(rng, world, cust)
        stats += act.uplift_stats
        persona_counts += np.bincount(cust.persona, minlength=world.n_personas)
        for name in ("number", "persona", "signup_day", "churned", "active_end", "gender",
                     "age", "annual_income", "family_size", "tier", "consent",
                     "spending_score"):
            add("_numbers" if name == "number" else f"c_{name}", getattr(cust, name))
        visit_numbers = counters["visits"] + np.arange(len(act.visit_customer))
        counters["visits"] += len(act.visit_customer)
        add("v_number", visit_numbers)
        add("v_customer", cust.number[act.visit_customer])
        add("v_entered", act.visit_entered)
        add("v_dwell", act.visit_dwell)
        add("v_store", act.visit_store)
        counters["transactions"] += len(act.tx_customer)
        add("t_count", np.array([len(act.tx_customer)]))
        add("t_customer", cust.number[act.tx_customer])
        add("t_basket", visit_numbers[act.tx_visit])
        for name in ("store", "time", "amount", "quantity", "unit_price", "campaign"):
            add(f"t_{name}", getattr(act, f"tx_{name}"))
        add("e_customer", cust.number[act.ex_customer])
        for name in ("campaign", "sent", "holdout", "responded", "redeemed"):
            add(f"e_{name}", getattr(act, f"ex_{name}"))
    chunk = {k: np.concatenate(v) for k, v in parts.items()}
    chunk["t_number"] = (counters["transactions"] - int(chunk["t_count"].sum())
                         + np.arange(int(chunk["t_count"].sum())))
    chunk["_stats"] = stats
    chunk["_persona_counts"] = persona_counts
    chunk["_first_number"] = np.array([blocks.start * BLOCK_CUSTOMERS])
    return chunk


def _local(chunk: dict[str, np.ndarray], numbers: np.ndarray) -> np.ndarray:
    return numbers - int(chunk["_first_number"][0])


def _customers_table(world: World, chunk: dict[str, np.ndarray], ids: pa.Array) -> pa.Table:
    end_year = (world.start + timedelta(days=world.days - 1)).year
    age = chunk["c_age"]
    return pa.table({
        "customer_id": ids,
        "gender": _GENDERS.take(pa.array(chunk["c_gender"].astype(np.int32))),
        "age": pa.array(age, type=pa.int32()),
        "birth_year": pa.array(end_year - age, type=pa.int32()),
        "annual_income": pa.array(chunk["c_annual_income"], type=pa.float64()),
        "spending_score": pa.array(chunk["c_spending_score"], type=pa.float64()),
        "family_size": pa.array(chunk["c_family_size"], type=pa.int32()),
        "loyalty_tier": _TIERS.take(pa.array(chunk["c_tier"].astype(np.int32))),
        "signup_date": _dates(world, chunk["c_signup_day"]),
        "consent_marketing": pa.array(chunk["c_consent"], type=pa.bool_()),
    })


def _customer_personas_table(world: World, chunk: dict[str, np.ndarray],
                             ids: pa.Array) -> pa.Table:
    names = pa.array(list(world.par.names))
    return pa.table({
        "customer_id": ids,
        "persona": names.take(pa.array(chunk["c_persona"].astype(np.int32))),
        "signed_up_in_period": pa.array(chunk["c_signup_day"] >= 0),
        "churned_on": _dates(world, chunk["c_active_end"], null=~chunk["c_churned"]),
    }, schema=CUSTOMER_PERSONAS_SCHEMA)


def _visits_table(world: World, chunk: dict[str, np.ndarray], ids: pa.Array) -> pa.Table:
    entered = chunk["v_entered"]
    dwell = chunk["v_dwell"]
    zones = pa.array(world.stores.zone.tolist())
    return pa.table({
        "visit_id": _ids("V", chunk["v_number"] + 1, _EVENT_ID_WIDTH),
        "customer_id": ids.take(pa.array(_local(chunk, chunk["v_customer"]))),
        "entered_at": _timestamps(world, entered),
        "left_at": _timestamps(world, entered + dwell),
        "dwell_minutes": pa.array(dwell / 60.0),
        "zone": zones.take(pa.array(chunk["v_store"])),
    })


def _transactions_table(world: World, chunk: dict[str, np.ndarray],
                        ids: pa.Array) -> pa.Table:
    stores = world.stores
    store = pa.array(chunk["t_store"])
    campaign = chunk["t_campaign"].astype(np.int32)
    campaign_ids = pa.array([c.campaign_id for c in world.campaigns], type=pa.string())
    return pa.table({
        "transaction_id": _ids("T", chunk["t_number"] + 1, _EVENT_ID_WIDTH),
        "customer_id": ids.take(pa.array(_local(chunk, chunk["t_customer"]))),
        "store_id": pa.array(stores.store_id.tolist()).take(store),
        "purchased_at": _timestamps(world, chunk["t_time"]),
        "amount": pa.array(chunk["t_amount"]),
        "quantity": pa.array(chunk["t_quantity"]),
        "unit_price": pa.array(chunk["t_unit_price"]),
        "basket_id": _ids("B", chunk["t_basket"] + 1, _EVENT_ID_WIDTH),
        "category": pa.array(stores.category_names.tolist()).take(store),
        "campaign_id": campaign_ids.take(pa.array(campaign, mask=campaign < 0)),
    })


def _exposures_table(world: World, chunk: dict[str, np.ndarray], ids: pa.Array) -> pa.Table:
    campaign_ids = pa.array([c.campaign_id for c in world.campaigns], type=pa.string())
    redeemed = chunk["e_redeemed"]
    return pa.table({
        "campaign_id": campaign_ids.take(pa.array(chunk["e_campaign"].astype(np.int32))),
        "customer_id": ids.take(pa.array(_local(chunk, chunk["e_customer"]))),
        "sent_at": _timestamps(world, chunk["e_sent"]),
        "is_holdout": pa.array(chunk["e_holdout"], type=pa.bool_()),
        "responded": pa.array(chunk["e_responded"], type=pa.bool_()),
        "redeemed_at": _timestamps(world, np.maximum(redeemed, 0), null=redeemed < 0),
    })


def _stores_table(world: World) -> pa.Table:
    s = world.stores
    return pa.table({
        "store_id": s.store_id.tolist(),
        "name": s.name.tolist(),
        "category": s.category_names.tolist(),
        "zone": s.zone.tolist(),
        "floor": pa.array(s.floor, type=pa.int32()),
    })


def _campaigns_table(world: World) -> pa.Table:
    camps = world.campaigns
    return pa.table({
        "campaign_id": pa.array([c.campaign_id for c in camps], type=pa.string()),
        "name": pa.array([c.name for c in camps], type=pa.string()),
        "channel": pa.array([c.channel for c in camps], type=pa.string()),
        "start_date": pa.array([c.start_date for c in camps], type=pa.date32()),
        "end_date": pa.array([c.end_date for c in camps], type=pa.date32()),
        "offer": pa.array([c.offer for c in camps], type=pa.string()),
        "target_category": pa.array([c.target_category for c in camps], type=pa.string()),
    })


def _write_manifest(out: Path, world: World, customers: int, seed: int,
                    file_format: str, rows: dict[str, int]) -> None:
    manifest = {
        "generator": "mallseg.datasets.simulate",
        "mallseg_version": __version__,
        "seed": seed,
        "customers": customers,
        "days": world.days,
        "start_date": world.start.isoformat(),
        "end_date": (world.start + timedelta(days=world.days - 1)).isoformat(),
        "personas": list(world.par.names),
        "drift": str(world.drift),
        "holdout_share": HOLDOUT_SHARE,
        "file_format": file_format,
        "layout": {
            "inputs": f"inputs/<table>/part-NNNNN.{file_format}",
            "truth": f"truth/<table>/part-NNNNN.{file_format}",
            "input_tables": list(INPUT_TABLES),
            "truth_tables": list(TRUTH_TABLES),
        },
        "rows": rows,
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


_CHUNK_TABLES: tuple[tuple[str, Callable[[World, dict[str, np.ndarray], pa.Array], pa.Table]],
                     ...] = (
    ("customers", _customers_table),
    ("visits", _visits_table),
    ("transactions", _transactions_table),
    ("exposures", _exposures_table),
    ("truth/customer_personas", _customer_personas_table),
)
"""Tables written per chunk, by writer key, with the function that builds each."""
