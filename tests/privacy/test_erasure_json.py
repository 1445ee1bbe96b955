"""Erasing an id that also reads as a number leaves every stored JSON value readable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mallseg.app.forget import forget_customer
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.data.ingest import ingest_file
from mallseg.datasets.samples import classic_sample_path
from mallseg.workspace import Workspace


def test_forgetting_id_1_keeps_the_segment_profiles_json(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLSEG_PSEUDONYMISE", "0")  # the classic ids 1..200 as given
    with Workspace.open(tmp_path / "ws") as ws:
        ingest_file(ws, "customers", classic_sample_path())
        segment_customers(ws, SegmentRequest(lens="classic", algorithms=("kmeans",), k=5,
                                             n_resamples=2))
        forget_customer(ws, "1")
        profiles = ws.connection.execute("SELECT profile FROM segments").fetchall()
        left = ws.connection.execute(
            "SELECT count(*) FROM customers WHERE customer_id = '1'").fetchone()
    assert profiles and all(isinstance(json.loads(p[0]), dict) for p in profiles)
    assert left == (0,)


def test_a_spark_parquet_part_is_rewritten_and_its_checksum_dropped(tmp_path: Path) -> None:
    import pandas as pd

    from mallseg.privacy.files import scrub_files

    part = tmp_path / "assignments" / "part-00000-abc.snappy.parquet"
    part.parent.mkdir()
    pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "segment": [0, 1, 1]}).to_parquet(part)
    checksum = part.with_name(f".{part.name}.crc")
    checksum.write_bytes(b"crc")
    rewritten, removed = scrub_files(tmp_path, ["C2"], skip=())
    assert rewritten == ["assignments/part-00000-abc.snappy.parquet"] and removed == []
    assert pd.read_parquet(part)["customer_id"].tolist() == ["C1", "C3"]
    assert not checksum.exists()
