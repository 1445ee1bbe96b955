"""How many customers a plan contacts (a number, a share, or what pays for itself), and who.

Examples
--------
>>> import numpy as np
>>> resolve_budget(np.array([0.3, 0.2, 0.01]), 3, cost_per_contact=1.0,
...                value_per_response=10.0).contacts
2
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mallseg.insights.campaigns.plan import TARGET_COLUMNS, Budget

__all__ = ["resolve_budget", "select_targets"]


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value) or value < 0:
        raise ValueError(f"{name}={value!r} must be a number >= 0")
    return float(value)


def resolve_budget(
    expected_uplift: np.ndarray,
    candidates: int,
    *,
    contacts: int | None = None,
    share: float | None = None,
    cost_per_contact: float | None = None,
    value_per_response: float | None = None,
) -> Budget:
    """The number of contacts from exactly one way of stating the budget.

    Parameters
    ----------
    expected_uplift:
        Expected extra response probability of each candidate.
    candidates:
        Number of candidates.
    contacts:
        A number of customers (at most ``candidates`` are taken); with money given, a cap.
    share:
        A share (0, 1] of the candidates.
    cost_per_contact, value_per_response:
        Given together: contact everyone whose ``expected_uplift * value_per_response``
        exceeds ``cost_per_contact``.

    Raises
    ------
    ValueError
        When no budget, two budgets, or only one of the two money figures is given, or
        a figure is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> resolve_budget(np.zeros(10), 10, share=0.25).contacts
    2
    >>> resolve_budget(np.zeros(10), 10, contacts=50).contacts
    10
    >>> resolve_budget(np.zeros(10), 10)
    Traceback (most recent call last):
    ...
    ValueError: give a budget: contacts, share, or cost_per_contact with value_per_response
    """
    money = (cost_per_contact, value_per_response)
    if (money[0] is None) != (money[1] is None):
        raise ValueError("cost_per_contact and value_per_response go together: give both")
    if contacts is not None and (isinstance(contacts, bool) or not isinstance(contacts, int)
                                 or contacts < 0):
        raise ValueError(f"contacts={contacts!r} must be a whole number >= 0")
    if share is not None and (isinstance(share, bool) or not isinstance(share, int | float)
                              or not 0.0 < share <= 1.0):
        raise ValueError(f"share={share!r} must lie in (0, 1]")
    if cost_per_contact is not None and value_per_response is not None:
        if share is not None:
            raise ValueError("give share or cost_per_contact/value_per_response, not both")
        cost = _positive("cost_per_contact", cost_per_contact)
        value = _positive("value_per_response", value_per_response)
        paying = int(np.sum(np.asarray(expected_uplift) * value > cost))
        count = paying if contacts is None else min(paying, contacts)
        return Budget(kind="value", contacts=count,
                      share=count / candidates if candidates else 0.0,
                      cost_per_contact=cost, value_per_response=value)
    if contacts is not None and share is not None:
        raise ValueError("give contacts or share, not both")
    if contacts is not None:
        count = min(contacts, candidates)
        return Budget(kind="contacts", contacts=count,
                      share=count / candidates if candidates else 0.0)
    if share is not None:
        count = round(share * candidates)
        return Budget(kind="share", contacts=count, share=float(share))
    raise ValueError("give a budget: contacts, share, or cost_per_contact with "
                     "value_per_response")


def select_targets(
    expected: np.ndarray, candidates: pd.DataFrame, budget: Budget, holdout_share: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The best ``budget.contacts`` candidates, a random ``holdout_share`` of them held out.

    Ties in ``expected`` are broken at random. The list has the columns of
    :data:`~mallseg.insights.campaigns.plan.TARGET_COLUMNS`, best first.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> candidates = pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["s"] * 3})
    >>> picked = select_targets(np.array([0.1, 0.3, 0.2]), candidates,
    ...                         Budget("contacts", 2, 2 / 3), 0.5, np.random.default_rng(0))
    >>> picked["customer_id"].tolist(), int(picked["is_holdout"].sum())
    (['b', 'c'], 1)
    """
    order = np.lexsort((rng.random(len(expected)), -expected))
    picked = order[:budget.contacts]
    holdout = np.zeros(budget.contacts, dtype=bool)
    holdout[rng.choice(budget.contacts, size=round(holdout_share * budget.contacts),
                       replace=False)] = True
    return pd.DataFrame({
        "customer_id": candidates["customer_id"].to_numpy()[picked],
        "segment": candidates["segment"].to_numpy()[picked],
        "expected_uplift": np.round(expected[picked], 6),
        "is_holdout": holdout,
    }, columns=list(TARGET_COLUMNS))
