"""Workspace settings for privacy choices: the marketing consent rule, sensitive features.

Both are kept in the workspace's ``workspace_meta`` table (keys ``setting.<name>``), so
that every command, the service and the report on that workspace follow the same choice.

``marketing_consent``
    ``opt_in`` (default) or ``not_refused``: see :mod:`mallseg.data.consent`.
``sensitive_features``
    ``on`` (default) or ``off``. Off, gender and age (and birth year) are never used as
    segmentation features; each segment's make-up by gender and age band is still shown
    against the population, so that a segment that stands in for them stays visible.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE workspace_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
>>> read_setting(con, "sensitive_features")
'on'
>>> write_setting(con, "sensitive_features", "OFF")
'off'
>>> read_setting(con, "sensitive_features"), sensitive_features_enabled(con)
('off', False)
>>> write_setting(con, "marketing_consent", "maybe")
Traceback (most recent call last):
...
ValueError: marketing_consent='maybe': expected one of opt_in, not_refused
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from mallseg.data.consent import CONSENT_RULES, DEFAULT_CONSENT_RULE, ConsentRule

__all__ = [
    "SENSITIVE_FEATURES",
    "SETTINGS",
    "Setting",
    "marketing_consent_rule",
    "read_setting",
    "sensitive_features_enabled",
    "write_setting",
]

SENSITIVE_FEATURES: tuple[str, ...] = ("gender", "age", "birth_year")
"""Features (and the customer columns behind them) that ``sensitive_features off`` removes."""


@dataclass(frozen=True)
class Setting:
    """A workspace setting: its values, default and meaning."""

    name: str
    values: tuple[str, ...]
    default: str
    meaning: str


SETTINGS: dict[str, Setting] = {
    s.name: s for s in (
        Setting("marketing_consent", CONSENT_RULES, DEFAULT_CONSENT_RULE,
                "who may appear in target lists and recommendation exports: opt_in = only "
                "customers whose consent is recorded as given; not_refused = everyone "
                "except recorded refusals"),
        Setting("sensitive_features", ("on", "off"), "on",
                "whether gender and age may be used as segmentation features (their "
                "make-up per segment is shown either way)"),
    )
}


def _setting(name: str) -> Setting:
    if name not in SETTINGS:
        raise ValueError(f"unknown setting {name!r}: expected one of {', '.join(SETTINGS)}")
    return SETTINGS[name]


def _has_meta(connection: duckdb.DuckDBPyConnection) -> bool:
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'workspace_meta' "
        "AND table_schema = current_schema()").fetchall()
    return bool(found[0][0])


def read_setting(connection: duckdb.DuckDBPyConnection, name: str) -> str:
    """The setting's value in this workspace (its default when never set)."""
    setting = _setting(name)
    if not _has_meta(connection):
        return setting.default
    rows = connection.execute("SELECT value FROM workspace_meta WHERE key = ?",
                              [f"setting.{name}"]).fetchall()
    value = str(rows[0][0]) if rows else setting.default
    return value if value in setting.values else setting.default


def write_setting(connection: duckdb.DuckDBPyConnection, name: str, value: str) -> str:
    """Store ``value`` (case-insensitive) for setting ``name``; returns what was stored.

    Raises
    ------
    ValueError
        For an unknown setting or value (the message lists the accepted ones).
    """
    setting = _setting(name)
    chosen = value.strip().lower()
    if chosen not in setting.values:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(setting.values)}")
    connection.execute("INSERT OR REPLACE INTO workspace_meta VALUES (?, ?)",
                       [f"setting.{name}", chosen])
    return chosen


def marketing_consent_rule(connection: duckdb.DuckDBPyConnection) -> ConsentRule:
    """The workspace's consent rule for marketing lists."""
    value = read_setting(connection, "marketing_consent")
    return "not_refused" if value == "not_refused" else "opt_in"


def sensitive_features_enabled(connection: duckdb.DuckDBPyConnection) -> bool:
    """Whether gender and age may be used as segmentation features in this workspace."""
    return read_setting(connection, "sensitive_features") == "on"
