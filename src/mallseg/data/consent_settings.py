"""Workspace settings for privacy choices: consent rule, sensitive features, minimum group.

Both are kept in the workspace's ``workspace_meta`` table (keys ``setting.<name>``), so
that every command, the service and the report on that workspace follow the same choice.

``marketing_consent``
    ``opt_in`` (default) or ``not_refused``: see :mod:`mallseg.data.consent`.
``sensitive_features``
    ``on`` (default) or ``off``. Off, gender and age (and birth year) are never used as
    segmentation features; each segment's make-up by gender and age band is still shown
    against the population, so that a segment that stands in for them stays visible.
``min_group_size``
    A whole number, at least 2 (default 10): no aggregate of fewer customers is shown or
    exported (:mod:`mallseg.core.group_size`).

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
>>> write_setting(con, "min_group_size", "25"), group_size_rule(con).k
('25', 25)
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from mallseg.core.group_size import DEFAULT_MIN_GROUP_SIZE, GroupSizeRule, parse_min_group_size
from mallseg.data.consent import CONSENT_RULES, DEFAULT_CONSENT_RULE, ConsentRule

__all__ = [
    "SENSITIVE_FEATURES",
    "SETTINGS",
    "Setting",
    "group_size_rule",
    "marketing_consent_rule",
    "read_setting",
    "sensitive_features_enabled",
    "write_setting",
]

SENSITIVE_FEATURES: tuple[str, ...] = ("gender", "age", "birth_year")
"""Features (and the customer columns behind them) that ``sensitive_features off`` removes."""


@dataclass(frozen=True)
class Setting:
    """A workspace setting: its values, default and meaning.

    ``values`` lists the accepted values; an empty tuple means a whole number, checked by
    ``parse`` (``values_text`` says so in words).
    """

    name: str
    values: tuple[str, ...]
    default: str
    meaning: str
    values_text: str = ""

    def accepts(self, value: str) -> bool:
        """Whether ``value`` (already lower-cased and stripped) is a value of this setting."""
        if self.values:
            return value in self.values
        try:
            parse_min_group_size(value)
        except ValueError:
            return False
        return True

    def described_values(self) -> str:
        """The accepted values in words."""
        return ", ".join(self.values) if self.values else self.values_text


SETTINGS: dict[str, Setting] = {
    s.name: s for s in (
        Setting("marketing_consent", CONSENT_RULES, DEFAULT_CONSENT_RULE,
                "who may appear in target lists and recommendation exports: opt_in = only "
                "customers whose consent is recorded as given; not_refused = everyone "
                "except recorded refusals"),
        Setting("sensitive_features", ("on", "off"), "on",
                "whether gender and age may be used as segmentation features (their "
                "make-up per segment is shown either way)"),
        Setting("min_group_size", (), str(DEFAULT_MIN_GROUP_SIZE),
                "no segment profile, table cell, flow, campaign cell or other aggregate of "
                "fewer customers than this is shown or exported",
                values_text="a whole number, at least 2"),
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
    return value if setting.accepts(value) else setting.default


def write_setting(connection: duckdb.DuckDBPyConnection, name: str, value: str) -> str:
    """Store ``value`` (case-insensitive) for setting ``name``; returns what was stored.

    Raises
    ------
    ValueError
        For an unknown setting or value (the message lists the accepted ones).
    """
    setting = _setting(name)
    chosen = value.strip().lower()
    if not setting.accepts(chosen):
        expected = (f"one of {setting.described_values()}" if setting.values
                    else setting.described_values())
        raise ValueError(f"{name}={value!r}: expected {expected}")
    if not setting.values:
        chosen = str(int(chosen))
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


def group_size_rule(connection: duckdb.DuckDBPyConnection) -> GroupSizeRule:
    """The workspace's minimum group size rule (``min_group_size``, default 10)."""
    return GroupSizeRule(parse_min_group_size(read_setting(connection, "min_group_size")))
