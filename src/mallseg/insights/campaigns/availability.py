"""What a workspace holds for measuring campaigns, and the one sentence when it is not enough.

Uplift is measured against a random holdout, so it needs ``exposures`` with an
``is_holdout`` flag that is true for some rows, and an outcome: the ``responded`` flag, or
``transactions`` to measure spend (and purchases) in the campaign window. When any of that
is missing, :attr:`CampaignInputs.missing` says what is missing and what would be needed.

Examples
--------
>>> import duckdb
>>> inputs = inspect_campaign_inputs(duckdb.connect())
>>> print(inputs.missing)
No campaign exposures: measuring uplift needs an exposures table listing, per campaign, \
the customers sent the offer and a random holdout not sent it (is_holdout), with their \
responses (responded) or their purchases after the send (transactions).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from mallseg.features.sources import CanonicalSources, inspect_sources

__all__ = ["CampaignDataError", "CampaignInputs", "inspect_campaign_inputs"]

_NEEDED = (
    "an exposures table listing, per campaign, the customers sent the offer and a random "
    "holdout not sent it (is_holdout), with their responses (responded) or their purchases "
    "after the send (transactions)"
)


class CampaignDataError(ValueError):
    """The workspace lacks the data a campaign measurement or targeting plan needs."""


@dataclass(frozen=True)
class CampaignInputs:
    """Which campaign data a connection holds.

    Attributes
    ----------
    sources:
        The canonical tables present.
    exposures, holdouts, responses:
        Rows of ``exposures``, of them with ``is_holdout`` true, and with ``responded``
        recorded.
    transactions, visits, stores:
        Whether those tables hold rows.
    categories:
        Whether purchases can be placed in a store category (``transactions.category`` or
        ``stores.category`` recorded): needed to read a response off purchases in the
        offer's category.
    """

    sources: CanonicalSources
    exposures: int = 0
    holdouts: int = 0
    responses: int = 0
    transactions: bool = False
    visits: bool = False
    stores: bool = False
    categories: bool = False

    @property
    def missing(self) -> str | None:
        """One sentence on what is missing for any measurement, or ``None`` when nothing is.

        Examples
        --------
        >>> from mallseg.features.sources import CanonicalSources
        >>> inputs = CampaignInputs(CanonicalSources(frozenset({"exposures"})), exposures=40)
        >>> inputs.missing.split(":")[0]
        'The 40 exposures hold no holdout (no row with is_holdout true)'
        """
        if self.exposures == 0:
            return f"No campaign exposures: measuring uplift needs {_NEEDED}."
        if self.holdouts == 0:
            return (
                f"The {self.exposures} exposures hold no holdout (no row with is_holdout "
                "true): uplift needs a random group of each campaign's audience that was not "
                "sent the offer, to compare with those who were."
            )
        if self.responses == 0 and not self.transactions:
            return (
                "The exposures record no response (responded) and there are no transactions "
                "to measure purchases after the send: load either to measure uplift."
            )
        return None


def inspect_campaign_inputs(connection: duckdb.DuckDBPyConnection) -> CampaignInputs:
    """Count what ``connection`` holds for campaign measurement.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE exposures (campaign_id VARCHAR, customer_id VARCHAR, "
    ...                 "is_holdout BOOLEAN, responded BOOLEAN)")
    >>> _ = con.execute("INSERT INTO exposures VALUES ('k', 'a', true, false), "
    ...                 "('k', 'b', false, NULL)")
    >>> inputs = inspect_campaign_inputs(con)
    >>> (inputs.exposures, inputs.holdouts, inputs.responses, inputs.missing)
    (2, 1, 1, None)
    """
    sources = inspect_sources(connection)
    if not sources.has("exposures"):
        return CampaignInputs(sources)
    # fetchall, not fetchone: a result left half-read blocks the connection's next use.
    row = connection.execute(
        "SELECT count(*), count(*) FILTER (WHERE is_holdout), count(responded) "
        f"FROM {sources.relation('exposures')}"
    ).fetchall()[0]
    exposures, holdouts, responses = (int(v or 0) for v in row)
    categories = False
    for table in ("transactions", "stores"):
        if not categories and sources.has(table):
            found = connection.execute(
                f"SELECT EXISTS (SELECT 1 FROM {sources.relation(table)} "
                "WHERE category IS NOT NULL)"
            ).fetchall()
            categories = bool(found[0][0])
    return CampaignInputs(
        sources=sources,
        exposures=exposures,
        holdouts=holdouts,
        responses=responses,
        transactions=sources.has("transactions"),
        visits=sources.has("visits"),
        stores=sources.has("stores"),
        categories=categories,
    )
