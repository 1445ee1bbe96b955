"""Give a refit the lineage's identities: match, rewrite its stored rows, keep the changelog.

After a refit run is stored under its model's labels, :func:`realign_refit` matches its
segments to the previous version's (:mod:`mallseg.monitor.lineage`), on member overlap of
the customers both runs placed (newcomers never make an old segment split) or on centres in
the old model's space; it rewrites the refit's stored rows in stable ids and names
(:mod:`mallseg.monitor.identity_store`), records the identity events and registers the
version (:mod:`mallseg.monitor.versions`).

Examples
--------
>>> refitted = Refitted("0002", np.array(["a", "b"]), np.array([1, 0]), {0: "B", 1: "A"},
...                     None, "f00d", 2)
>>> refitted.fitted_names[1]
'A'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from mallseg.monitor.identity_store import apply_identities, stored_segments
from mallseg.monitor.lineage import IdentityMatch, MatchRule, centroid_inputs, match_segments
from mallseg.monitor.versions import (
    family_of,
    record_first_identities,
    record_match,
    register_version,
    used_ids,
)
from mallseg.segment.segmenter import Segmenter

__all__ = ["RefitResult", "Refitted", "realign_refit"]


@dataclass(frozen=True)
class Refitted:
    """A stored refit run, as plain values."""

    run_id: str
    customer_ids: np.ndarray
    labels: np.ndarray
    fitted_names: dict[int, str]
    """Model label -> the name the refit gave."""
    model_path: str | None
    schema_hash: str
    segments: int


@dataclass(frozen=True)
class RefitResult:
    """A refit and how its segments map onto the lineage's identities."""

    run_id: str
    previous_run_id: str
    identity: IdentityMatch
    segments: tuple[dict[str, Any], ...]
    """id, name, size, share of each new segment."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"run_id": self.run_id, "previous_run_id": self.previous_run_id,
                "identity": self.identity.to_dict(), "segments": list(self.segments)}


def realign_refit(
    connection: duckdb.DuckDBPyConnection, old_run_id: str,
    old_identities: Mapping[int, tuple[int, str]], refitted: Refitted, *,
    rule: MatchRule | None = None, old_model: Segmenter | None = None,
    frame: pd.DataFrame | None = None, actor: str | None = None,
) -> IdentityMatch:
    """Match ``refitted`` to version ``old_run_id`` and store the result (module docs).

    ``old_model`` and ``frame`` (the refit's customers with the old run's features, in the
    refit's order) are needed for ``rule.method == "centroid"`` only.
    """
    rule = rule or MatchRule()
    record_first_identities(connection, old_run_id,
                            {k: v[1] for k, v in old_identities.items()},
                            {k: v[0] for k, v in old_identities.items()})
    family = family_of(connection, old_run_id)
    new_labels = np.asarray(refitted.labels, dtype=np.int64)
    centres: dict[str, Any] = {}
    if rule.method == "centroid":
        if old_model is None or frame is None:
            raise ValueError("centroid matching needs the old model and the customers' "
                             "features")
        old_labels = np.asarray(old_model.predict(frame), dtype=np.int64)
        old_ids = {k: v[0] for k, v in old_identities.items()}
        old_names = {k: v[1] for k, v in old_identities.items()}
        centres = centroid_inputs(old_model.transform(frame), old_model.centers_, old_labels,
                                  new_labels)
    else:
        old_labels = stored_segments(connection, old_run_id, refitted.customer_ids)
        old_ids = {v[0]: v[0] for v in old_identities.values()}
        old_names = {v[0]: v[1] for v in old_identities.values()}
    match = match_segments(old_labels, new_labels, old_ids=old_ids, old_names=old_names,
                           new_names=refitted.fitted_names,
                           used_ids=used_ids(connection, family), rule=rule, **centres)
    apply_identities(connection, refitted.run_id, match.ids, match.names, match.to_dict())
    record_match(connection, refitted.run_id, old_run_id, match,
                 {v[0]: v[1] for v in old_identities.values()})
    register_version(connection, refitted.run_id, family=family, parent=old_run_id,
                     source="refit", model_path=refitted.model_path,
                     schema_hash=refitted.schema_hash, segments=refitted.segments, actor=actor,
                     note=f"refit of {old_run_id}")
    return match
