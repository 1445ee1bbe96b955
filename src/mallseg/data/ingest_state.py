"""The running state of one ingest across its units, and the report made from it.

:mod:`mallseg.data.ingest` keeps an :class:`IngestState` while it loads a file unit by
unit, reports :class:`UnitProgress` after each committed unit, and turns the state into
the :class:`~mallseg.data.ingest_report.IngestReport` at the end.

Examples
--------
>>> UnitProgress(units_done=2, rows_done=4_000_000, fraction=0.5).sentence()
'4,000,000 rows, 2 units'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from mallseg.core.pseudonyms import PseudonymKey
from mallseg.core.schema import Table
from mallseg.data.attributes import AttributePlan
from mallseg.data.ingest_log import LoggedCounts
from mallseg.data.ingest_pseudonyms import IdMap
from mallseg.data.ingest_report import IngestReport
from mallseg.data.prepare import PreparedIngest
from mallseg.data.quarantine import top_reasons
from mallseg.data.value_warnings import warning_sentences

__all__ = ["IngestState", "UnitCallback", "UnitProgress", "build_report", "logged_counts"]


@dataclass(frozen=True)
class UnitProgress:
    """How far an ingest has got: reported after each unit is committed.

    ``fraction`` is the share of the source read so far (rows of Parquet, bytes of CSV).
    """

    units_done: int
    rows_done: int
    fraction: float

    def sentence(self) -> str:
        """The progress in words, as the command line shows it beside its bar."""
        units = "unit" if self.units_done == 1 else "units"
        return f"{self.rows_done:,} rows, {self.units_done} {units}"


UnitCallback = Callable[[UnitProgress], None]
"""Called with the :class:`UnitProgress` of an ingest after each committed unit."""


@dataclass
class IngestState:
    """Running totals and decisions of one ingest across its units."""

    prepared: PreparedIngest
    ingest_id: str
    started: datetime
    register_unknown: bool
    notes: list[str]
    key: PseudonymKey | None = None
    id_map: IdMap | None = None
    plan: str | None = None
    id_sql: str | None = None
    """The typed customer id over the staged row, when ids are pseudonymised."""
    fresh_table: bool = False
    """The table held no row when the load began: every valid row is new."""
    attributes: AttributePlan = field(default_factory=AttributePlan)
    kept: list[str] = field(default_factory=list)
    rows_read: int = 0
    committed_units: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    registered: Counter[str] = field(default_factory=Counter)
    unknown_references: Counter[str] = field(default_factory=Counter)
    warning_counts: Counter[str] = field(default_factory=Counter)
    unreadable: Counter[str] = field(default_factory=Counter)
    digest: str = ""

    @property
    def table(self) -> Table:
        """The canonical table being loaded."""
        return self.prepared.table

    @property
    def mapped(self) -> dict[str, str]:
        """Canonical column -> source column of the file."""
        return self.prepared.mapping.canonical_to_source



def build_report(
    con: duckdb.DuckDBPyConnection, state: IngestState, rows_loaded: int, notes: list[str],
    filled: dict[str, int],
) -> IngestReport:
    """The report of a finished ingest, from its state."""
    mapping, plan, counts = state.prepared.mapping, state.attributes, state.counts
    specs = {s.attribute: s for s in plan.specs}
    set_aside = {**mapping.pii_reasons, **plan.personal, **plan.set_aside}
    warnings = warning_sentences(state.warning_counts) + [
        specs[name].unreadable_note(count) for name, count in sorted(state.unreadable.items())
        if count and name in specs
    ]
    handled = set(plan.kept_sources) | set(set_aside)
    return IngestReport(
        ingest_id=state.ingest_id,
        table=state.table.name,
        source=state.prepared.source.label,
        rows_read=state.rows_read,
        rows_loaded=rows_loaded,
        rows_new=counts["new"],
        rows_updated=counts["updated"],
        rows_unchanged=counts["unchanged"],
        rows_quarantined=counts["quarantined"],
        mapping=dict(mapping.canonical_to_source),
        ignored_columns=[c for c in mapping.ignored if c not in handled],
        dropped_pii_columns=[*mapping.dropped_pii, *plan.personal],
        registered={t: n for t, n in state.registered.items() if n},
        top_reasons=top_reasons(con, state.ingest_id),
        notes=notes,
        attributes={s.attribute: s.kind for s in plan.specs},
        set_aside=set_aside,
        warnings=warnings,
        customers_filled=filled,
        rows_erased=counts["erased"],
        customer_ids="pseudonymised" if state.key is not None else "as given",
    )


def logged_counts(state: IngestState, rows_loaded: int) -> LoggedCounts:
    """The totals of the units committed so far, as the ingest log records them."""
    counts = state.counts
    return LoggedCounts(state.ingest_id, state.table.name, state.prepared.source.label,
                        state.rows_read, rows_loaded, counts["new"], counts["updated"],
                        counts["unchanged"], counts["quarantined"])
