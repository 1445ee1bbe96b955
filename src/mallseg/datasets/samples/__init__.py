"""Sample data shipped inside the package, usable offline.

``mall_customers.csv`` is the classic 200-row "Mall Customer Segmentation Data" table
(CustomerID, Genre, Age, Annual Income (k$), Spending Score (1-100)) published on Kaggle
for teaching customer segmentation; it was made up for learning, not observed shoppers.

Examples
--------
>>> classic_sample_path().name
'mall_customers.csv'
>>> sample_path("classic") == classic_sample_path()
True
>>> load_classic_customers().columns.tolist()
['customer_id', 'gender', 'age', 'annual_income', 'spending_score']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["SAMPLES", "classic_sample_path", "load_classic_customers", "sample_path"]

SAMPLES: dict[str, tuple[str, str]] = {
    "classic": ("customers", "mall_customers.csv"),
}
"""Sample name -> (canonical table, file name)."""


def sample_path(name: str) -> Path:
    """Path of the bundled sample ``name``.

    Raises
    ------
    ValueError
        When there is no sample of that name.
    """
    if name not in SAMPLES:
        raise ValueError(f"unknown sample {name!r}: expected one of {', '.join(SAMPLES)}")
    return Path(str(resources.files(__package__).joinpath(SAMPLES[name][1])))


def classic_sample_path() -> Path:
    """Path of the classic 200-row Mall Customers table."""
    return sample_path("classic")


def load_classic_customers() -> pd.DataFrame:
    """The classic sample as a frame with canonical column names, for notebooks and tests.

    ``customer_id`` keeps its zero padding, gender is lower-case (female / male), income is
    in thousands. To load it into a workspace use ``mallseg ingest customers --sample
    classic`` instead, which validates it like any other file.
    """
    frame = pd.read_csv(classic_sample_path(), dtype={"CustomerID": str}).rename(columns={
        "CustomerID": "customer_id",
        "Genre": "gender",
        "Age": "age",
        "Annual Income (k$)": "annual_income",
        "Spending Score (1-100)": "spending_score",
    })
    frame["gender"] = frame["gender"].str.lower()
    return frame
