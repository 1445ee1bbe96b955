"""What a feature build depended on, so that it can be repeated exactly.

A :class:`FeatureSchema` records the reference time, the data-wide quantities the features
were computed with (the first purchase and visit days, the categories kept as spend shares
and those merged into ``other``, the zones), the customer attributes used, and the
resulting features with their kinds and meanings. Rebuilding features with the schema of a
run — for new customers (``assign``), for one customer whose events just arrived, or on
another engine — gives the same columns computed the same way. Its :meth:`~FeatureSchema.
fingerprint` identifies it in run records and model files.

Examples
--------
>>> from datetime import datetime
>>> schema = FeatureSchema(as_of=datetime(2014, 6, 29), reference="latest sign-up",
...                        features=("age", "annual_income"),
...                        kinds={"age": "numeric", "annual_income": "numeric"})
>>> FeatureSchema.from_dict(schema.to_dict()) == schema
True
>>> len(schema.fingerprint())
16
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

__all__ = ["AttributeSpec", "BuildParameters", "FeatureSchema"]


@dataclass(frozen=True)
class AttributeSpec:
    """A customer attribute (an extra column of a user's file) as the features use it.

    Attributes
    ----------
    attribute:
        Name in the workspace's ``customer_attributes`` table.
    feature:
        Feature name (the attribute name, unless that is a built-in feature's).
    value_type:
        ``number``, ``boolean`` or ``category``.
    kind:
        Preprocessing kind (``numeric``, ``count``, ``money``, ``share``, ``flag``,
        ``categorical``).
    family, member:
        Wide columns that belong together (``spend``: one column per category).
    meaning:
        What it is, for people.
    """

    attribute: str
    feature: str
    value_type: str
    kind: str
    family: str | None = None
    member: str | None = None
    meaning: str = ""


@dataclass(frozen=True)
class BuildParameters:
    """Data-wide quantities the feature SQL needs; measured once, then reused.

    Examples
    --------
    >>> BuildParameters(categories=("food",)).category_code("food")
    0
    """

    transactions_start: date | None = None
    visits_start: date | None = None
    categories: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    has_responses: bool = False
    has_redemptions: bool = False

    def category_code(self, name: str) -> int | None:
        """Integer code of a normalised category (``None`` when unknown)."""
        try:
            return self.categories.index(name)
        except ValueError:
            return None


@dataclass(frozen=True)
class FeatureSchema:
    """Everything a feature build depended on (see the module documentation)."""

    as_of: datetime | None
    reference: str = "given"
    """Where the reference time came from: given, latest event, latest sign-up or today."""
    parameters: BuildParameters = field(default_factory=BuildParameters)
    kept_categories: tuple[str, ...] = ()
    """Categories with a spend share of their own (the others go to ``other``)."""
    attributes: tuple[AttributeSpec, ...] = ()
    features: tuple[str, ...] = ()
    kinds: dict[str, str] = field(default_factory=dict)
    meanings: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    """Short names for tables and sentences ("spend on wines"), where the meaning is long."""
    vocabulary: dict[str, str] = field(default_factory=dict)
    """Words the data calls things by (``place``: store, mall, branch)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (dates as ISO text)."""
        payload = asdict(self)
        payload["as_of"] = self.as_of.isoformat() if self.as_of else None
        params = payload["parameters"]
        for key in ("transactions_start", "visits_start"):
            value = getattr(self.parameters, key)
            params[key] = value.isoformat() if value else None
        return payload

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> FeatureSchema:
        """Rebuild a schema written by :meth:`to_dict`."""
        params = dict(payload.get("parameters") or {})
        for key in ("transactions_start", "visits_start"):
            if params.get(key):
                params[key] = date.fromisoformat(params[key])
        for key in ("categories", "zones"):
            params[key] = tuple(params.get(key) or ())
        as_of = payload.get("as_of")
        return cls(
            as_of=datetime.fromisoformat(as_of) if as_of else None,
            reference=payload.get("reference", "given"),
            parameters=BuildParameters(**params),
            kept_categories=tuple(payload.get("kept_categories") or ()),
            attributes=tuple(AttributeSpec(**a) for a in payload.get("attributes") or ()),
            features=tuple(payload.get("features") or ()),
            kinds=dict(payload.get("kinds") or {}),
            meanings=dict(payload.get("meanings") or {}),
            labels=dict(payload.get("labels") or {}),
            vocabulary=dict(payload.get("vocabulary") or {}),
        )

    def fingerprint(self) -> str:
        """A short hash of the schema (features, kinds, parameters, reference time)."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def sentence(self) -> str:
        """The reference time in words, as printed with results.

        >>> FeatureSchema(datetime(2011, 12, 9, 12, 50), "latest event").sentence()
        'Features as of 2011-12-09 12:50 (the latest event in the data).'
        """
        if self.as_of is None:
            return "Features without a reference time (the data holds no dates)."
        when = self.as_of.strftime("%Y-%m-%d %H:%M").removesuffix(" 00:00")
        source = {"given": "as asked", "latest event": "the latest event in the data",
                  "latest sign-up": "the latest sign-up in the data",
                  "today": "today: the data holds no dates"}.get(self.reference, self.reference)
        return f"Features as of {when} ({source})."
