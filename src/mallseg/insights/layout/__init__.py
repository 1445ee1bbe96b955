"""Store layout and merchandising: where segments shop, what goes together, when they come.

- :func:`analyse_layout`: everything below in one call, with suggestions in words (each
  keeping the numbers behind it), computed in DuckDB where the data lives.
- :mod:`~mallseg.insights.layout.affinity`: segment x store / category / zone lift, with a
  minimum-count rule (small cells are marked, not shown).
- :mod:`~mallseg.insights.layout.pairs`: stores bought from together in one basket or on one
  day: support, confidence, lift, and whether they sit in different zones or floors.
- :mod:`~mallseg.insights.layout.hours`: visits by weekday x hour per zone and per segment,
  with peak windows.
- :mod:`~mallseg.insights.layout.gaps`: categories a segment under-buys against the segments
  most like it.

Examples
--------
>>> import duckdb
>>> analyse_layout(duckdb.connect()).store_affinity is None
True
"""

from mallseg.insights.layout.affinity import AffinityCell, AffinityTable, affinity_table
from mallseg.insights.layout.analysis import LayoutResult, analyse_layout
from mallseg.insights.layout.gaps import CategoryGap, find_category_gaps
from mallseg.insights.layout.hours import HeatMap, HourlyActivity, PeakWindow, hourly_activity
from mallseg.insights.layout.pairs import StorePair, StorePairs, store_pairs
from mallseg.insights.layout.segments import ALL_CUSTOMERS, segment_view
from mallseg.insights.layout.suggestions import Suggestion

__all__ = [
    "ALL_CUSTOMERS",
    "AffinityCell",
    "AffinityTable",
    "CategoryGap",
    "HeatMap",
    "HourlyActivity",
    "LayoutResult",
    "PeakWindow",
    "StorePair",
    "StorePairs",
    "Suggestion",
    "affinity_table",
    "analyse_layout",
    "find_category_gaps",
    "hourly_activity",
    "segment_view",
    "store_pairs",
]
