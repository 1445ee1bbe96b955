"""Map a file's column names onto a canonical table's columns.

Names are compared after normalisation (lower case, letters and digits only), first
against the canonical name, then against the known aliases in order of preference. An
explicit mapping (``--map source=canonical``) always wins over the automatic one.

Examples
--------
>>> from mallseg.core.schema import CANONICAL_TABLES
>>> m = map_columns(
...     ["CustomerID", "Genre", "Age", "Annual Income (k$)", "Spending Score (1-100)"],
...     CANONICAL_TABLES["customers"],
... )
>>> m.canonical_to_source["annual_income"]
'Annual Income (k$)'
>>> m.canonical_to_source["gender"]
'Genre'
>>> m.ignored
[]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mallseg.core.personal_data import personal_data_name_reason
from mallseg.core.schema import PII_COLUMN_NAMES, Table
from mallseg.data.errors import IngestError

__all__ = [
    "AMBIGUOUS_NAMES",
    "ColumnMapping",
    "column_list",
    "map_columns",
    "match_columns",
    "normalise_name",
    "parse_mapping_options",
    "parse_value_options",
]

AMBIGUOUS_NAMES: dict[str, tuple[str, ...]] = {
    "price": ("amount", "unit_price"),
}
"""Normalised source names that exports use for different things: never mapped
automatically; the error asks the user to choose."""


def normalise_name(name: str) -> str:
    """Lower-case ``name`` and keep only letters and digits.

    >>> normalise_name("Spending Score (1-100)"), normalise_name("Âge")
    ('spendingscore1100', 'age')
    """
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", folded.lower())


@dataclass
class ColumnMapping:
    """How a file's columns map onto a canonical table.

    >>> ColumnMapping("stores", {"store_id": "Shop"}, ignored=["Owner"]).ignored
    ['Owner']
    """

    table: str
    canonical_to_source: dict[str, str]
    ignored: list[str] = field(default_factory=list)
    """Source columns that map to nothing (kept out of the workspace)."""
    dropped_pii: list[str] = field(default_factory=list)
    """Source columns recognised as personal data: never stored."""
    pii_reasons: dict[str, str] = field(default_factory=dict)
    """Why each column of ``dropped_pii`` is personal data."""


def parse_mapping_options(options: Sequence[str]) -> dict[str, str]:
    """Parse ``source=canonical`` options into a dict source -> canonical.

    >>> parse_mapping_options(["Kunde=customer_id", "Alter = age"])
    {'Kunde': 'customer_id', 'Alter': 'age'}

    Raises
    ------
    IngestError
        When an option is not of the form ``source=canonical``.
    """
    parsed: dict[str, str] = {}
    for option in options:
        source, sep, canonical = option.partition("=")
        source, canonical = source.strip(), canonical.strip()
        if not sep or not source or not canonical:
            raise IngestError(
                f"--map {option!r}: expected SOURCE=CANONICAL, e.g. Kunde=customer_id"
            )
        if source in parsed:
            raise IngestError(f"--map names column {source!r} twice")
        if canonical in parsed.values():
            raise IngestError(f"--map gives {canonical} two sources")
        parsed[source] = canonical
    return parsed


def parse_value_options(options: Sequence[str]) -> dict[str, dict[str, str]]:
    """Parse ``column=raw:value,raw:value`` options into a value mapping per column.

    >>> parse_value_options(["gender=1:male,2:female"])
    {'gender': {'1': 'male', '2': 'female'}}

    Raises
    ------
    IngestError
        When an option is not of that form.
    """
    parsed: dict[str, dict[str, str]] = {}
    for option in options:
        column, sep, pairs = option.partition("=")
        column = column.strip()
        if not sep or not column or not pairs.strip():
            raise IngestError(
                f"--values {option!r}: expected COLUMN=RAW:VALUE,RAW:VALUE, "
                "e.g. gender=1:male,2:female"
            )
        values = parsed.setdefault(column, {})
        for pair in pairs.split(","):
            raw, colon, value = pair.partition(":")
            if not colon or not raw.strip() or not value.strip():
                raise IngestError(
                    f"--values {option!r}: {pair.strip()!r} is not RAW:VALUE, "
                    "e.g. gender=1:male,2:female"
                )
            values[raw.strip()] = value.strip()
    return parsed


def column_list(names: Sequence[str]) -> str:
    r"""Column names for a one-line message: a name holding a line break or tab is quoted.

    >>> column_list(["id", "Annual\nIncome"])
    "id, 'Annual\\nIncome'"
    """
    return ", ".join(repr(n) if any(c in n for c in "\r\n\t") else n for n in names)


def map_columns(
    source_columns: Sequence[str],
    table: Table,
    explicit: Mapping[str, str] | None = None,
    *,
    source_label: str = "file",
    single_column_advice: str | None = None,
) -> ColumnMapping:
    """Map ``source_columns`` onto ``table``.

    Parameters
    ----------
    source_columns:
        Column names as they appear in the file.
    table:
        The canonical table being loaded.
    explicit:
        ``source -> canonical`` pairs given by the user; they win over automatic matches.
    source_label:
        Name of the file, used in error messages.
    single_column_advice:
        What to tell a user whose file shows a single column (for a workbook: choose the
        sheet); by default, name the delimiter.

    Raises
    ------
    IngestError
        When an explicit mapping names a column the file does not have or a canonical
        column the table does not have, or when a required column has no source.

    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> m = map_columns(["Kunde", "E-Mail", "Tier"], CANONICAL_TABLES["customers"],
    ...                 {"Kunde": "customer_id"})
    >>> m.canonical_to_source, m.dropped_pii
    ({'customer_id': 'Kunde', 'loyalty_tier': 'Tier'}, ['E-Mail'])
    >>> m.pii_reasons["E-Mail"]
    'personal data: the name says e-mail address'
    """
    explicit = dict(explicit or {})
    canonical_names = set(table.column_names)
    chosen: dict[str, str] = {}
    for source, canonical in explicit.items():
        if source not in source_columns:
            raise IngestError(
                f"{source_label}: --map names column {source!r}, which the file does not have; "
                f"its columns are: {column_list(source_columns)}"
            )
        if canonical not in canonical_names:
            raise IngestError(
                f"{source_label}: --map {source}={canonical}: table {table.name} has no column "
                f"{canonical!r}; expected one of: {', '.join(table.column_names)}"
            )
        chosen[canonical] = source

    chosen.update(match_columns(source_columns, table, exclude=chosen))
    taken = set(chosen.values())

    dropped_pii: list[str] = []
    pii_reasons: dict[str, str] = {}
    ignored: list[str] = []
    for source in source_columns:
        if source in taken:
            continue
        reason = personal_data_name_reason(source)
        if reason is None and normalise_name(source) in PII_COLUMN_NAMES:
            reason = "personal data: a name that carries personal data"
        if reason is not None:
            dropped_pii.append(source)
            pii_reasons[source] = reason
        else:
            ignored.append(source)

    missing = [
        c for c in table.required_columns()
        if c.name not in chosen and c.name not in table.derived_columns
    ]
    for derived, _expr in table.derived_columns.items():
        if derived in chosen:
            continue
        column = table.column(derived)
        if column.required and not _derivable(derived, table, chosen):
            missing.append(column)
    if missing:
        first = missing[0]
        hint = _derivation_hint(first.name, table)
        ambiguous = [s for s in ignored if normalise_name(s) in AMBIGUOUS_NAMES]
        if ambiguous:
            meanings = AMBIGUOUS_NAMES[normalise_name(ambiguous[0])]
            choices = " or ".join(f"--map {ambiguous[0]}={m}" for m in meanings)
            raise IngestError(
                f"{source_label}: no column for {table.name}.{first.name}; column "
                f"{ambiguous[0]!r} could mean {' or '.join(meanings)}: choose with {choices}"
            )
        if len(source_columns) == 1:
            advice = single_column_advice or (
                "expected fields separated by one of , ; TAB | (fixed-width text must be "
                "converted to CSV first); name the delimiter with --delimiter")
            raise IngestError(
                f"{source_label}: found a single column ({source_columns[0]!r}) where "
                f"{table.name} needs {first.name}; {advice}"
            )
        raise IngestError(
            f"{source_label}: no column for {table.name}.{first.name} ({first.meaning}){hint}; "
            f"the file's columns are: {column_list(source_columns)}. "
            f"Name it with --map SOURCE={first.name}"
        )
    ordered = {c: chosen[c] for c in table.column_names if c in chosen}
    return ColumnMapping(
        table=table.name,
        canonical_to_source=ordered,
        ignored=ignored,
        dropped_pii=dropped_pii,
        pii_reasons=pii_reasons,
    )


def match_columns(
    source_columns: Sequence[str], table: Table, *, exclude: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Automatic ``canonical -> source`` matches of ``source_columns`` onto ``table``.

    Canonical columns and source columns named in ``exclude`` (``canonical -> source``)
    are left out. Each canonical column takes the first source column whose normalised
    name is its own name or, in order of preference, one of its aliases.

    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> match_columns(["gender", "age", "price"], CANONICAL_TABLES["customers"])
    {'gender': 'gender', 'age': 'age'}
    """
    excluded = dict(exclude or {})
    taken = set(excluded.values())
    normalised = {s: normalise_name(s) for s in source_columns if s not in taken}
    chosen: dict[str, str] = {}
    for column in table.columns:
        if column.name in excluded:
            continue
        for candidate in (normalise_name(column.name), *column.aliases):
            match = next(
                (s for s, n in normalised.items() if n == candidate and s not in taken), None
            )
            if match is not None:
                chosen[column.name] = match
                taken.add(match)
                break
    return chosen


def _derivable(column: str, table: Table, chosen: Mapping[str, str]) -> bool:
    derivation = table.derived_columns.get(column)
    return derivation is not None and all(c in chosen for c in derivation.inputs)


def _derivation_hint(column: str, table: Table) -> str:
    derivation = table.derived_columns.get(column)
    if derivation is None:
        return ""
    return f" (or {' and '.join(derivation.inputs)} to derive it from)"
