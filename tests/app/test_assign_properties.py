"""Scoring any file, however malformed, either works with reconciled counts or fails in one line.

The files come from the ingest property test's generators (every format: CSV of any
delimiter and encoding, gzip, Parquet, .xlsx, broken and empty files). ``assign_file`` may
only raise ``IngestError`` with one line; when it scores, every row read is either scored or
listed as rejected, and the workspace is left exactly as it was (nothing is loaded).
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, event, given, note, settings

from mallseg.app.assign import assign_file
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.data.errors import IngestError
from mallseg.data.ingest import ingest_file
from mallseg.datasets.samples import classic_sample_path
from mallseg.segment.coverage import NOT_ENOUGH_DATA
from mallseg.workspace import Workspace

CASES = {"files": 0, "scored": 0, "refused": 0}


def _generators() -> ModuleType:
    path = Path(__file__).parents[1] / "data" / "test_ingest_properties.py"
    spec = importlib.util.spec_from_file_location("ingest_file_generators", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FILES = _generators().files


@pytest.fixture(scope="module")
def workspace() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="assign-properties-")) / "ws"
    with Workspace.open(folder) as ws:
        ingest_file(ws, "customers", classic_sample_path())
        segment_customers(ws, SegmentRequest(lens=("age", "annual_income"), k=3, n_resamples=2,
                                             algorithms=("kmeans",)))
    return folder


def _state(folder: Path) -> tuple[int, ...]:
    with Workspace.open(folder, read_only=True) as ws:
        return tuple(ws.table_count(t) for t in ("customers", "customer_attributes",
                                                 "quarantine", "segment_assignments"))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(FILES("customers"))
def test_any_file_is_scored_or_refused_in_one_line(
    workspace: Path, generated: tuple[str, bytes]
) -> None:
    name, data = generated
    CASES["files"] += 1
    before = _state(workspace)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            result = assign_file(workspace, path)
        except IngestError as exc:
            message = str(exc)
            note(message)
            assert message and "\n" not in message and "Traceback" not in message
            CASES["refused"] += 1
            event("refused")
        else:
            CASES["scored"] += 1
            event("scored")
            loaded = result.ingest[0].rows_loaded
            assert len(result.assignments) == loaded
            assert loaded + len(result.rejected) == result.rows_read
            placed = result.assignments["segment_id"]
            assert (placed.between(0, 2) | (placed == NOT_ENOUGH_DATA)).all()
            set_aside = result.assignments[placed == NOT_ENOUGH_DATA]
            assert (set_aside["segment_name"] == "Not enough data").all()
    assert _state(workspace) == before


def test_the_generated_cases_were_tried() -> None:
    # runs after the property test in file order: both outcomes must have been exercised
    assert CASES["files"] >= 40
    assert CASES["scored"] > 0 and CASES["refused"] > 0
