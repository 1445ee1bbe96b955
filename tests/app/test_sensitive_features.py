"""Gender and age can be switched off for segmentation; every run shows its segments'
make-up by gender and age band against the population, with proxies named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mallseg.app.consent_makeup import makeup_for_run
from mallseg.app.consent_settings import change_setting
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.data.ingest import ingest_file
from mallseg.datasets.samples import classic_sample_path
from mallseg.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.open(tmp_path / "ws")
    ingest_file(ws, "customers", classic_sample_path())
    return ws


def test_switched_off_the_run_uses_neither_gender_nor_age(workspace: Workspace) -> None:
    with workspace as ws:
        on = segment_customers(ws, SegmentRequest(lens="demographic", k=4, n_resamples=2))
        change_setting(ws, "sensitive_features", "off")
        off = segment_customers(ws, SegmentRequest(lens="demographic", k=4, n_resamples=2))
        record = ws.get_run(off.run_id, "segment")
        with pytest.raises(ValueError, match="sensitive_features off"):
            segment_customers(ws, SegmentRequest(lens=("age", "gender"), k=3, n_resamples=2))
    assert {"age", "gender"} <= set(on.features)
    assert off.features == ["annual_income"]
    assert record.parameters["sensitive_features"] == "off"


def test_every_segment_shows_its_make_up_against_the_population(workspace: Workspace) -> None:
    with workspace as ws:
        run = segment_customers(ws, SegmentRequest(lens="classic", k=5, n_resamples=2))
        run_id, makeup = makeup_for_run(ws)
        customers = ws.connection.execute("SELECT gender, age FROM customers").df()
        names = ws.connection.execute(
            "SELECT DISTINCT segment_name FROM segment_assignments WHERE run_id = ?",
            [run.run_id]).df()["segment_name"]
        truth = ws.connection.execute(
            "SELECT a.segment_name AS segment, c.gender FROM segment_assignments a "
            "JOIN customers c USING (customer_id) WHERE a.run_id = ?", [run.run_id]).df()
    table = makeup.table()
    assert run_id == run.run_id and makeup.population == 200
    assert set(table["segment"]) == set(names)
    # Each gender cell is the true count, or hidden when under the minimum group size (10).
    true_counts = truth.groupby(["segment", "gender"]).size()
    gender = table[table["attribute"] == "gender"]
    assert len(gender) and gender["customers"].isna().any()
    for _, row in gender.iterrows():
        true = int(true_counts.get((row["segment"], row["group"]), 0))
        if pd.isna(row["customers"]):
            assert true < 10 and pd.isna(row["share"])
        else:
            assert int(row["customers"]) == true >= 10
    # The shown and the hidden add up to the segment.
    sizes = table.groupby(["segment", "attribute"])["segment_size"].first()
    for (segment, _), size in sizes.items():
        assert int(truth[truth["segment"] == segment].shape[0]) == size
    # The population's shares are the customers table's.
    women = table[(table["attribute"] == "gender") & (table["group"] == "female")]
    share_of_women = round((customers["gender"] == "female").mean(), 4)
    assert set(women["population_share"].dropna()) == {share_of_women}
    young = table[(table["attribute"] == "age band") & (table["group"] == "under 25")]
    assert set(young["population_share"].dropna()) == {round((customers["age"] < 25).mean(), 4)}
    # A flag is stated with the numbers of its row.
    for flag in makeup.flags:
        if "figures not shown" in flag:  # the cell is under the minimum group size
            continue
        segment = flag.split(":")[0]
        row = table[(table["segment"] == segment)
                    & (table["difference_points"] >= 20)
                    & table["group"].map(lambda g, f=flag: f" {g} against " in f)]
        assert len(row) == 1, flag
        assert f"{row['share'].iloc[0]:.0%}" in flag
