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
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["SAMPLES", "classic_sample_path", "sample_path"]

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
