"""Drift of the synthetic mall over the simulated period.

Two kinds, each with a strength (0 = none, 1 = strong):

* ``mix``: the persona mix of *new sign-ups* shifts over the period. A persona's share among
  customers joining at fraction ``f`` of the period is proportional to
  ``share * exp(strength * mix_drift_tilt * f)`` (more teen grazers and deal hunters join).
  Customers who joined before the period keep the original mix.
* ``behaviour``: every customer's visit rate and spend per visit change gradually: at
  fraction ``f`` of the period they are multiplied by ``exp(strength * visit_drift * f)``
  and ``exp(strength * spend_drift * f)`` of the customer's persona.

Examples
--------
>>> parse_drift("mix:0.5")
DriftSpec(kind='mix', strength=0.5)
>>> parse_drift("none")
DriftSpec(kind='none', strength=0.0)
>>> parse_drift("behaviour")
DriftSpec(kind='behaviour', strength=0.5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, cast

__all__ = ["DRIFT_KINDS", "DriftKind", "DriftSpec", "parse_drift"]

DriftKind = Literal["none", "mix", "behaviour"]
DRIFT_KINDS: tuple[str, ...] = ("none", "mix", "behaviour")
_DEFAULT_STRENGTH = 0.5


@dataclass(frozen=True)
class DriftSpec:
    """What changes over the simulated period, and how much.

    Parameters
    ----------
    kind:
        ``"none"``, ``"mix"`` (persona shares of new sign-ups shift) or ``"behaviour"``
        (visit rate and spend of all customers change gradually).
    strength:
        Size of the change, >= 0 (0.5 is clearly visible, 1 is strong). Must be 0 for
        ``"none"``.
    """

    kind: DriftKind = "none"
    strength: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in DRIFT_KINDS:
            raise ValueError(f"drift kind={self.kind!r} must be one of {', '.join(DRIFT_KINDS)}")
        if not math.isfinite(self.strength) or self.strength < 0:
            raise ValueError(f"drift strength={self.strength!r} must be a finite number >= 0")
        if self.kind == "none" and self.strength != 0:
            raise ValueError(f"drift kind='none' takes no strength, got {self.strength}")

    @property
    def mix_strength(self) -> float:
        """Strength of the persona-mix drift (0 unless ``kind == "mix"``)."""
        return self.strength if self.kind == "mix" else 0.0

    @property
    def behaviour_strength(self) -> float:
        """Strength of the behaviour drift (0 unless ``kind == "behaviour"``)."""
        return self.strength if self.kind == "behaviour" else 0.0

    def __str__(self) -> str:
        return "none" if self.kind == "none" else f"{self.kind}:{self.strength:g}"


def parse_drift(text: str | DriftSpec | None) -> DriftSpec:
    """Parse a drift description: ``"none"``, ``"mix:0.5"``, ``"behaviour:0.3"``.

    A kind without a strength takes 0.5; ``behavior`` (US spelling) is accepted.

    Raises
    ------
    ValueError
        When the kind is unknown or the strength is not a number >= 0.

    Examples
    --------
    >>> parse_drift("behavior:0.3")
    DriftSpec(kind='behaviour', strength=0.3)
    >>> parse_drift("season:1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: drift='season:1' has unknown kind 'season': expected none, mix or behaviour ...
    """
    if text is None:
        return DriftSpec()
    if isinstance(text, DriftSpec):
        return text
    if not isinstance(text, str):
        raise ValueError(f"drift={text!r} must be a string like 'mix:0.5' or a DriftSpec")
    raw = text.strip().lower()
    kind, sep, value = raw.partition(":")
    kind = {"behavior": "behaviour", "": "none"}.get(kind.strip(), kind.strip())
    if kind not in DRIFT_KINDS:
        raise ValueError(
            f"drift={text!r} has unknown kind {kind!r}: expected none, mix or behaviour "
            "(e.g. 'mix:0.5')"
        )
    if kind == "none":
        if sep and value.strip() not in ("", "0", "0.0"):
            raise ValueError(f"drift={text!r}: kind 'none' takes no strength")
        return DriftSpec()
    if not sep or not value.strip():
        return DriftSpec(cast(DriftKind, kind), _DEFAULT_STRENGTH)
    try:
        strength = float(value)
    except ValueError:
        raise ValueError(
            f"drift={text!r} has strength {value.strip()!r}, expected a number >= 0"
        ) from None
    return DriftSpec(cast(DriftKind, kind), strength)
