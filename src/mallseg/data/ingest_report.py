"""The result of one ingest: reconciled counts, what was done with every column, why.

Examples
--------
>>> IngestReport("ingest-1", "stores", "s.csv", 1, 1, 1, 0, 0, 0, {"store_id": "id"}).rows_new
1
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["IngestReport"]


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did, with reconciled counts.

    ``rows_read == rows_loaded + rows_quarantined`` and
    ``rows_loaded == rows_new + rows_updated + rows_unchanged`` always hold.

    >>> report = IngestReport("ingest-1", "customers", "c.csv", 3, 2, 2, 0, 0, 1,
    ...                       {"customer_id": "ID"},
    ...                       top_reasons=[("age: … is outside 10..110", 1,
    ...                                     "age: 150 is outside 10..110")])
    >>> report.to_dict()["top_reasons"]
    [['age: … is outside 10..110', 1, 'age: 150 is outside 10..110']]
    """

    ingest_id: str
    table: str
    source: str
    rows_read: int
    rows_loaded: int
    rows_new: int
    rows_updated: int
    rows_unchanged: int
    rows_quarantined: int
    mapping: dict[str, str]
    ignored_columns: list[str] = field(default_factory=list)
    """Source columns neither mapped, kept nor set aside (extra columns of stores,
    campaigns and exposures files)."""
    dropped_pii_columns: list[str] = field(default_factory=list)
    registered: dict[str, int] = field(default_factory=dict)
    top_reasons: list[tuple[str, int, str]] = field(default_factory=list)
    """The most frequent kinds of reason: (kind, count, one real example)."""
    notes: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    """Customer attributes kept: attribute -> kind."""
    set_aside: dict[str, str] = field(default_factory=dict)
    """Source columns not stored, with the reason (personal data, identifiers, ...)."""
    warnings: list[str] = field(default_factory=list)
    """Counted data problems that did not reject rows."""
    customers_filled: dict[str, int] = field(default_factory=dict)
    """Event files: customers column -> customers whose empty value was filled."""
    rows_erased: int = 0
    """Rows of customers erased on request (counted among the quarantined, nothing kept)."""
    customer_ids: str = "as given"
    """``pseudonymised`` (keyed hashes replace the ids) or ``as given``."""

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form (for the API and ``--json`` output)."""
        data = asdict(self)
        data["top_reasons"] = [list(r) for r in self.top_reasons]
        return data
