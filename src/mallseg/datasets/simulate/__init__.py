"""A synthetic mall with known ground truth: personas, visits, purchases, campaigns, drift.

Customers are drawn from latent personas (``MALL_FACTS.md``) and produce visits with dwell
times, purchases in the mall's stores, and responses to campaigns with holdout groups and a
known true uplift. The output is a folder of canonical input tables and, kept apart, the
truth a test can check recovery against::

    out_dir/
      simulation.json                  parameters, layout and rows written
      inputs/<table>/part-00000.parquet   customers, stores, campaigns, visits,
                                          transactions, exposures
      truth/<table>/part-00000.parquet    customer_personas, personas, campaign_uplift, drift

Examples
--------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     summary = simulate_mall(folder, customers=200, days=14, personas=3, seed=7)
...     sorted(summary.rows)[:3]
['campaigns', 'customers', 'exposures']
"""

from __future__ import annotations

from mallseg.datasets.simulate.drift import DriftSpec, parse_drift
from mallseg.datasets.simulate.personas import (
    CATEGORIES,
    CHANNELS,
    DEFAULT_PERSONAS,
    LOYALTY_TIERS,
    TIME_BANDS,
    Persona,
    select_personas,
)
from mallseg.datasets.simulate.simulator import (
    BLOCK_CUSTOMERS,
    INPUT_TABLES,
    TRUTH_TABLES,
    SimulationSummary,
    simulate_mall,
)

__all__ = [
    "BLOCK_CUSTOMERS",
    "CATEGORIES",
    "CHANNELS",
    "DEFAULT_PERSONAS",
    "INPUT_TABLES",
    "LOYALTY_TIERS",
    "TIME_BANDS",
    "TRUTH_TABLES",
    "DriftSpec",
    "Persona",
    "SimulationSummary",
    "parse_drift",
    "select_personas",
    "simulate_mall",
]
