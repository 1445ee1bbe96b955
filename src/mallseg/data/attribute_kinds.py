"""What an extra column of a file is: the rules, on a profile of its values.

Every column a user brings that maps to no canonical column is either kept as a customer
attribute, with a *kind* (``numeric``, ``count``, ``money``, ``share``, ``flag``,
``categorical``), or set aside with the reason. The rules read the column's name (its
words: ``MntWines`` is ``mnt``, ``wines``) and a :class:`ColumnProfile` of its values,
computed in the database from the file's first rows.

Set aside: columns empty or constant, identifiers, free text, dates and times that map to
nothing (they should be mapped to a canonical column), text with too many levels.

Examples
--------
>>> profile = ColumnProfile(name="MntWines", source_type="VARCHAR", non_null=2240,
...                         distinct=776, numbers=2240, integers=2240, non_negative=2240,
...                         minimum=0.0, maximum=1493.0, skewness=1.2)
>>> classify_column(profile)
ColumnDecision(kind='money', reason=None)
>>> snake_case("NumWebPurchases"), snake_case("Marital_Status"), snake_case("Kidhome")
('num_web_purchases', 'marital_status', 'kidhome')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mallseg.core.personal_data import name_words

__all__ = [
    "ATTRIBUTE_KINDS",
    "BOOLEAN_PAIRS",
    "CATEGORY_MAX_LEVELS",
    "DATE_REASON",
    "MOST_OFTEN_MAX_LEVELS",
    "ColumnDecision",
    "ColumnProfile",
    "classify_column",
    "identifier_name",
    "numeric_kind",
    "snake_case",
    "value_type_of",
]

DATE_REASON = ("a date or time that maps to no canonical column: map it to one with "
               "--map COLUMN=CANONICAL (e.g. signup_date)")
ATTRIBUTE_KINDS = ("numeric", "count", "money", "share", "flag", "categorical")
CATEGORY_MAX_LEVELS = 30
"""A text column of a customers file with more levels than this is no category."""
MOST_OFTEN_MAX_LEVELS = 20
"""A text column of an event file that varies per customer keeps its most frequent value
when it has at most this many levels."""

BOOLEAN_PAIRS: tuple[tuple[str, str], ...] = (
    ("1", "0"), ("1.0", "0.0"), ("yes", "no"), ("true", "false"), ("y", "n"), ("t", "f"),
)
"""(true, false) spellings of a yes/no column, lower case."""

_NUMBER_SHARE = 0.9
_DATE_SHARE = 0.9
_IDENTIFIER_NAME_DISTINCT = 0.9
_IDENTIFIER_VALUE_DISTINCT = 0.95
_IDENTIFIER_MIN_ROWS = 20
_FREE_TEXT_LENGTH = 30.0
_COUNT_SKEWNESS = 1.0

_MONEY_WORDS = frozenset({"mnt", "amt", "value", "values", "monetary", "turnover"})
_MONEY_STEMS = ("spend", "spent", "amount", "sales", "revenue")
_COUNT_WORDS = frozenset({"num", "count", "counts", "number", "visits", "purchases", "orders",
                          "trips", "transactions", "items", "n"})
_COUNT_STEMS = ("kid", "child", "teen")
_SHARE_WORDS = frozenset({"rate", "share", "pct", "percent", "percentage", "ratio",
                          "proportion", "fraction", "frac"})
_ID_WORDS = frozenset({"id", "ids", "code", "key", "upc", "sku", "ean", "gtin", "isbn", "uuid",
                       "guid", "hash", "ref"})
_ID_LAST_WORDS = frozenset({"no", "nr", "nbr", "number"})
_NOT_ID_ENDINGS = frozenset({"paid", "valid", "void", "liquid", "hybrid", "android", "covid",
                             "avid", "rapid", "acid", "solid", "humid", "squid", "mid"})


def snake_case(name: str) -> str:
    """``name`` in snake_case, from its words (``MntGoldProds`` -> ``mnt_gold_prods``).

    >>> snake_case("AcceptedCmp1"), snake_case("Annual Income (k$)"), snake_case("  ")
    ('accepted_cmp1', 'annual_income_k', 'column')
    """
    return "_".join(name_words(name)) or "column"


def identifier_name(name: str) -> bool:
    """True when the name says identifier (``StoreID``, ``invoice_no``, ``StockCode``).

    >>> identifier_name("StockCode"), identifier_name("household_key"), identifier_name("paid")
    (True, True, False)
    """
    words = name_words(name)
    if not words:
        return False
    if any(w in _ID_WORDS for w in words) or (words[-1] in _ID_LAST_WORDS and len(words) > 1):
        return True
    last = words[-1]
    return (
        (last.endswith("id") and len(last) > 3 and last not in _NOT_ID_ENDINGS)
        or (last.endswith(("code", "key")) and len(last) > 4)
    )


def _says(words: list[str], exact: frozenset[str], stems: tuple[str, ...] = ()) -> bool:
    return any(w in exact or w.startswith(stems) for w in words) if stems else any(
        w in exact for w in words)


def _says_money(words: list[str]) -> bool:
    return _says(words, _MONEY_WORDS, _MONEY_STEMS)


def _says_count(words: list[str]) -> bool:
    return _says(words, _COUNT_WORDS, _COUNT_STEMS) or "numberof" in "".join(words)


def _says_share(words: list[str]) -> bool:
    return _says(words, _SHARE_WORDS)


@dataclass(frozen=True)
class ColumnProfile:
    """What a column's values look like, over the rows profiled.

    Counts are of non-empty values (empty, ``NA``, ``n/a``, ``null``, ``-`` ... are empty).

    >>> ColumnProfile("Education", "VARCHAR", non_null=100, distinct=5).numbers
    0
    """

    name: str
    source_type: str
    non_null: int
    distinct: int
    numbers: int = 0
    """Values that read as numbers."""
    integers: int = 0
    non_negative: int = 0
    minimum: float | None = None
    maximum: float | None = None
    skewness: float | None = None
    levels: tuple[str, ...] = field(default_factory=tuple)
    """The distinct values, lower case, when there are few (else empty)."""
    dates: int = 0
    """Values that read as dates or times (and are not plain numbers)."""
    mean_length: float = 0.0
    mean_words: float = 1.0


@dataclass(frozen=True)
class ColumnDecision:
    """An attribute kind, or the reason the column is set aside.

    >>> ColumnDecision(None, "constant, says nothing").kind is None
    True
    """

    kind: str | None
    reason: str | None = None


def value_type_of(kind: str) -> str:
    """The catalog's ``value_type`` of a kind: number, boolean or category.

    >>> value_type_of("money"), value_type_of("flag"), value_type_of("categorical")
    ('number', 'boolean', 'category')
    """
    return {"flag": "boolean", "categorical": "category"}.get(kind, "number")


def numeric_kind(name: str, profile: ColumnProfile) -> str:
    """The kind of a column of numbers: money, count, share or numeric.

    >>> p = ColumnProfile("Recency", "VARCHAR", 100, 100, 100, 100, 100, 0.0, 99.0, 0.0)
    >>> numeric_kind("Recency", p), numeric_kind("NumWebVisitsMonth", p)
    ('numeric', 'count')
    """
    words = name_words(name)
    low = profile.minimum if profile.minimum is not None else 0.0
    high = profile.maximum if profile.maximum is not None else 0.0
    if _says_money(words):
        return "money"
    if _says_count(words) and low >= 0:
        return "count"
    if _says_share(words) and low >= 0 and high <= 1:
        return "share"
    if (profile.integers == profile.numbers and low >= 0
            and profile.numbers >= _IDENTIFIER_MIN_ROWS
            and (profile.skewness or 0.0) >= _COUNT_SKEWNESS):
        return "count"
    return "numeric"


def _is_flag(profile: ColumnProfile) -> bool:
    if profile.source_type == "BOOLEAN":
        return True
    levels = set(profile.levels)
    return profile.distinct == 2 and any(levels == set(pair) for pair in BOOLEAN_PAIRS)


def _is_free_text(profile: ColumnProfile, text_levels_cap: int | None) -> bool:
    if profile.mean_length >= _FREE_TEXT_LENGTH:
        return True
    many_levels = text_levels_cap is not None and profile.distinct > text_levels_cap
    mostly_distinct = (profile.non_null >= _IDENTIFIER_MIN_ROWS
                       and profile.distinct >= 0.5 * profile.non_null)
    return profile.mean_words >= 2 and (many_levels or mostly_distinct)


def classify_column(
    profile: ColumnProfile,
    *,
    text_levels_cap: int | None = CATEGORY_MAX_LEVELS,
    identifier_by_name: bool | None = None,
) -> ColumnDecision:
    """Decide what a column is, from its name and profile.

    Parameters
    ----------
    profile:
        The column's values.
    text_levels_cap:
        Most levels a category may have (None: no cap, for values constant per customer
        in an event file, where levels are counted over customers).
    identifier_by_name:
        Whether an identifier-like name makes the column an identifier; by default, when
        at least 90% of its values are distinct.

    >>> classify_column(ColumnProfile("Z_CostContact", "VARCHAR", non_null=50, distinct=1))
    ColumnDecision(kind=None, reason='constant, says nothing')
    >>> classify_column(ColumnProfile("Complain", "VARCHAR", non_null=50, distinct=2,
    ...                               numbers=50, integers=50, levels=("0", "1")))
    ColumnDecision(kind='flag', reason=None)
    >>> classify_column(ColumnProfile("StoreID", "VARCHAR", 50, 48)).reason
    'an identifier (its name says so)'
    """
    if profile.non_null == 0:
        return ColumnDecision(None, "empty in every row")
    if profile.distinct == 1:
        return ColumnDecision(None, "constant, says nothing")
    if profile.source_type.startswith(("DATE", "TIMESTAMP", "TIME")) or (
            profile.dates >= _DATE_SHARE * profile.non_null):
        return ColumnDecision(None, DATE_REASON)
    numbers = profile.numbers >= _NUMBER_SHARE * profile.non_null
    text = not numbers and not _is_flag(profile)
    if text and _is_free_text(profile, text_levels_cap):
        return ColumnDecision(None, "free text")
    by_name = identifier_by_name if identifier_by_name is not None else (
        profile.distinct >= _IDENTIFIER_NAME_DISTINCT * profile.non_null)
    if identifier_name(profile.name) and by_name:
        return ColumnDecision(None, "an identifier (its name says so)")
    measure = numbers and numeric_kind(profile.name, profile) in ("money", "count", "share")
    if (not measure and profile.non_null >= _IDENTIFIER_MIN_ROWS
            and profile.distinct >= _IDENTIFIER_VALUE_DISTINCT * profile.non_null
            and (text or profile.integers == profile.numbers)):
        share = profile.distinct / profile.non_null
        return ColumnDecision(None, f"an identifier ({share:.0%} of its values are distinct)")
    if _is_flag(profile):
        return ColumnDecision("flag")
    if numbers:
        return ColumnDecision(numeric_kind(profile.name, profile))
    cap = text_levels_cap
    mostly_distinct = (profile.non_null >= _IDENTIFIER_MIN_ROWS
                       and profile.distinct >= 0.5 * profile.non_null)
    if (cap is None or profile.distinct <= cap) and not mostly_distinct:
        return ColumnDecision("categorical")
    if mostly_distinct:
        return ColumnDecision(None, "free text (mostly distinct values)")
    return ColumnDecision(
        None, f"text with {profile.distinct:,} distinct values: too many for a category "
              f"(at most {cap})")
