"""A small simulated mall, ingested and segmented once for the report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.datasets.simulate import simulate_mall
from mallseg.workspace import Workspace

SEGMENTS = 4


@pytest.fixture(scope="session")
def mall_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """800 simulated customers over 60 days, in four segments (k fixed, k-means)."""
    folder = tmp_path_factory.mktemp("report-mall")
    simulate_mall(folder / "mall", customers=800, days=60, seed=3, personas=4)
    with Workspace.open(folder / "ws") as ws:
        for table, path in find_table_sources(folder / "mall" / "inputs").items():
            ingest_file(ws, table, path)
        segment_customers(ws, SegmentRequest(algorithms=("kmeans",), k=SEGMENTS,
                                             n_resamples=2))
    return folder / "ws"


@pytest.fixture(scope="session")
def expected_segments() -> int:
    """The number of segments the fixture's run was fitted with."""
    return SEGMENTS
