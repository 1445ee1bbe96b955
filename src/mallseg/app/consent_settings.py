"""Use case: show and change a workspace's privacy settings (consent, sensitive, min group).

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
...     before = show_settings(ws).values()
...     changed = change_setting(ws, "sensitive_features", "off")
...     after = show_settings(ws).values()
>>> before["marketing_consent"], before["sensitive_features"], after["sensitive_features"]
('opt_in', 'on', 'off')
>>> before["min_group_size"]
'10'
>>> changed.previous, changed.value
('on', 'off')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mallseg.data.consent_settings import SETTINGS, read_setting, write_setting
from mallseg.workspace import Workspace

__all__ = ["SettingChange", "SettingValue", "SettingsResult", "change_setting", "show_settings"]


@dataclass(frozen=True)
class SettingValue:
    """One setting as the workspace holds it."""

    name: str
    value: str
    default: str
    values: tuple[str, ...]
    meaning: str
    accepted: str = ""
    """The accepted values in words (``one of a, b`` or ``a whole number, at least 2``)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"name": self.name, "value": self.value, "default": self.default,
                "values": list(self.values), "accepted": self.accepted,
                "meaning": self.meaning}


@dataclass(frozen=True)
class SettingsResult:
    """Every setting of the workspace."""

    settings: tuple[SettingValue, ...]

    def values(self) -> dict[str, str]:
        """``name -> value``."""
        return {s.name: s.value for s in self.settings}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"settings": [s.to_dict() for s in self.settings]}


@dataclass(frozen=True)
class SettingChange:
    """A setting changed: from what to what."""

    name: str
    previous: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"name": self.name, "previous": self.previous, "value": self.value}


def show_settings(workspace: Workspace) -> SettingsResult:
    """The workspace's settings, each with its default and meaning."""
    return SettingsResult(tuple(
        SettingValue(s.name, read_setting(workspace.connection, s.name), s.default, s.values,
                     s.meaning, accepted=("one of " if s.values else "")
                     + s.described_values()) for s in SETTINGS.values()))


def change_setting(workspace: Workspace, name: str, value: str, *,
                   actor: str | None = None) -> SettingChange:
    """Set ``name`` to ``value`` in the workspace, audited.

    Raises
    ------
    ValueError
        For an unknown setting or value (the message lists the accepted ones).
    """
    previous = read_setting(workspace.connection, name)
    stored = write_setting(workspace.connection, name, value)
    workspace.audit("change_setting", name, {"previous": previous, "value": stored},
                    actor=actor)
    return SettingChange(name, previous, stored)
