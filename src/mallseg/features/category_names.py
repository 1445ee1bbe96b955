"""Store and product categories as feature-name suffixes: lowercase snake_case ASCII.

Examples
--------
>>> normalise_category("Food & Beverage")
'food_beverage'
>>> normalise_category("  Café / Bakery ")
'cafe_bakery'
>>> normalise_category("---")
''
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalise_category"]

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise_category(raw: str) -> str:
    """Return ``raw`` lower-cased, accents removed, runs of other characters as one ``_``.

    An empty result means the value names no category (it is treated as unknown).

    Examples
    --------
    >>> normalise_category("Home-Décor")
    'home_decor'
    >>> normalise_category("Electronics")
    'electronics'
    """
    ascii_text = (
        unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii").lower()
    )
    return _NOT_WORD.sub("_", ascii_text).strip("_")
