from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def cdnow() -> pd.DataFrame:
    """The 2,357-customer CDNOW cohort summary: x, t_x, T (weeks) and zbar."""
    return pd.read_csv(DATA / "cdnow_customers_summary.csv")
