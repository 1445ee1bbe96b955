"""Synthetic customers from the BG/NBD, Pareto/NBD and Gamma-Gamma models, with known truth.

Each generator draws customers exactly as the model describes them, so a fit on the output
must recover the parameters it was given (and its standard errors must cover them):

- :func:`simulate_bgnbd`: rate ``lambda ~ Gamma(r, rate alpha)``, drop-out probability
  ``p ~ Beta(a, b)``; while alive, repeat events are Poisson(lambda); after each repeat event
  the customer leaves with probability ``p``.
- :func:`simulate_pareto_nbd`: rate ``lambda ~ Gamma(r, rate alpha)``, death rate
  ``mu ~ Gamma(s, rate beta)``; the customer's lifetime is Exponential(mu).
- :func:`simulate_gamma_gamma_spend`: each customer's spend per transaction is
  Gamma(p, rate nu), ``nu ~ Gamma(q, rate v)``; returns the mean over their repeat events.
- :func:`simulate_bgnbd_events`: BG/NBD customers as an event table (``customer_id``,
  ``purchased_at``, ``amount``), first purchases spread over the period, for tests and
  benchmarks that start from raw events.

The per-customer generators return the summary columns ``frequency`` (x), ``recency``
(t_x) and ``T``, optionally ``holdout_frequency`` (repeat events in (T, T + holdout]), and
the truth: ``true_rate``, ``true_dropout`` (p, BG/NBD) or ``true_death_rate`` (mu,
Pareto/NBD), and ``alive_at_T``. The same seed gives the same customers.

Examples
--------
>>> data = simulate_bgnbd(5, r=0.5, alpha=4.0, a=0.8, b=2.5, T=30.0, seed=0)
>>> list(data.columns)
['customer_id', 'frequency', 'recency', 'T', 'true_rate', 'true_dropout', 'alive_at_T']
>>> bool((data["recency"] <= data["T"]).all())
True
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "simulate_bgnbd",
    "simulate_bgnbd_events",
    "simulate_gamma_gamma_spend",
    "simulate_pareto_nbd",
]

_SECONDS_PER_DAY = 86_400


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
            raise ValueError(f"{name}={value!r} must be a positive number")


def _observation(customers: int, T: float | Sequence[float] | np.ndarray) -> np.ndarray:  # noqa: N803
    if isinstance(customers, bool) or not isinstance(customers, int) or customers < 1:
        raise ValueError(f"customers={customers!r} must be a positive integer")
    big_t = np.broadcast_to(np.asarray(T, dtype=float), (customers,)).copy()
    if not np.all(np.isfinite(big_t) & (big_t >= 0)):
        raise ValueError("T must be finite and >= 0 for every customer")
    return big_t


def _ids(customers: int, first_id: int = 0) -> np.ndarray:
    return np.char.add("C", np.char.zfill((np.arange(customers) + first_id).astype(str), 8))


def _last_of_first(
    rng: np.random.Generator, kept: np.ndarray, total: np.ndarray, span: np.ndarray
) -> np.ndarray:
    """Time of the ``kept``-th of ``total`` uniform points on [0, span] (0 when kept is 0).

    The k-th order statistic of n uniforms is Beta(k, n - k + 1).
    """
    out = np.zeros(kept.shape, dtype=float)
    some = kept > 0
    out[some] = span[some] * rng.beta(kept[some], total[some] - kept[some] + 1)
    return out


def simulate_bgnbd(
    customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | Sequence[float] | np.ndarray,  # noqa: N803
    holdout: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Draw ``customers`` BG/NBD customers observed for ``T`` after their first event.

    Parameters
    ----------
    customers:
        Number of customers.
    r, alpha, a, b:
        The model's parameters (rates are per unit of ``T``).
    T:
        Observation length after the first event: one value for all, or one per customer.
    holdout:
        When given, also ``holdout_frequency``: repeat events in (T, T + holdout].
    seed:
        Seed of the random generator.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``frequency``, ``recency``, ``T``, [``holdout_frequency``],
        ``true_rate``, ``true_dropout``, ``alive_at_T``.

    Examples
    --------
    >>> data = simulate_bgnbd(20_000, r=2.0, alpha=10.0, a=1.0, b=1e6, T=10.0, seed=3)
    >>> round(float(data["frequency"].mean()), 1)  # nobody drops out: r / alpha * T = 2
    2.0
    """
    _positive(r=r, alpha=alpha, a=a, b=b)
    big_t = _observation(customers, T)
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1.0 / alpha, customers)
    dropout = rng.beta(a, b, customers)
    # the repeat event after which the customer leaves (1, 2, ...)
    last_possible = rng.geometric(np.clip(dropout, 1e-300, 1.0))
    in_period = rng.poisson(rate * big_t)
    x = np.minimum(in_period, last_possible)
    t_x = _last_of_first(rng, x, in_period, big_t)
    alive = in_period < last_possible
    frame = {
        "customer_id": _ids(customers),
        "frequency": x.astype(np.int64),
        "recency": t_x,
        "T": big_t,
    }
    if holdout is not None:
        later = rng.poisson(rate * float(holdout))
        frame["holdout_frequency"] = np.where(
            alive, np.minimum(later, last_possible - in_period), 0
        ).astype(np.int64)
    frame |= {"true_rate": rate, "true_dropout": dropout, "alive_at_T": alive}
    return pd.DataFrame(frame)


def simulate_pareto_nbd(
    customers: int,
    *,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: float | Sequence[float] | np.ndarray,  # noqa: N803
    holdout: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Draw ``customers`` Pareto/NBD customers observed for ``T`` after their first event.

    Returns the columns of :func:`simulate_bgnbd`, with ``true_death_rate`` (mu) in place
    of ``true_dropout``.

    Examples
    --------
    >>> data = simulate_pareto_nbd(1000, r=0.5, alpha=10.0, s=0.5, beta=10.0, T=40.0, seed=2)
    >>> bool(((data["frequency"] == 0) == (data["recency"] == 0)).all())
    True
    """
    _positive(r=r, alpha=alpha, s=s, beta=beta)
    big_t = _observation(customers, T)
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1.0 / alpha, customers)
    death_rate = rng.gamma(s, 1.0 / beta, customers)
    lifetime = rng.exponential(1.0, customers) / np.maximum(death_rate, 1e-300)
    observed = np.minimum(lifetime, big_t)
    x = rng.poisson(rate * observed)
    t_x = _last_of_first(rng, x, x, observed)
    alive = lifetime > big_t
    frame = {
        "customer_id": _ids(customers),
        "frequency": x.astype(np.int64),
        "recency": t_x,
        "T": big_t,
    }
    if holdout is not None:
        span = np.clip(lifetime - big_t, 0.0, float(holdout))
        frame["holdout_frequency"] = rng.poisson(rate * span).astype(np.int64)
    frame |= {"true_rate": rate, "true_death_rate": death_rate, "alive_at_T": alive}
    return pd.DataFrame(frame)


def simulate_gamma_gamma_spend(
    frequency: Sequence[int] | np.ndarray | pd.Series,
    *,
    p: float,
    q: float,
    v: float,
    seed: int = 0,
) -> np.ndarray:
    """Mean spend over each customer's ``frequency`` repeat transactions (NaN for none).

    The sum of x Gamma(p, nu) spends is Gamma(p x, nu), so the mean is drawn directly.

    Examples
    --------
    >>> spend = simulate_gamma_gamma_spend([0, 1, 3], p=6.0, q=4.0, v=15.0, seed=0)
    >>> bool(np.isnan(spend[0])), bool((spend[1:] > 0).all())
    (True, True)
    """
    _positive(p=p, q=q, v=v)
    x = np.asarray(frequency, dtype=float)
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / v, x.size)
    out = np.full(x.size, np.nan)
    some = x > 0
    out[some] = rng.gamma(p * x[some], 1.0 / nu[some]) / x[some]
    return out


def simulate_bgnbd_events(
    customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    days: int,
    start: datetime = datetime(2026, 1, 1),
    spend: tuple[float, float, float] | None = (6.0, 4.0, 60.0),
    acquisition_share: float = 0.5,
    first_id: int = 0,
    seed: int = 0,
) -> pa.Table:
    """BG/NBD customers as raw events: one row per purchase, first purchases included.

    Parameters
    ----------
    customers:
        Number of customers (ids ``C`` + 8 digits, from ``first_id``).
    r, alpha, a, b:
        BG/NBD parameters, rates per day.
    days:
        Length of the period; events after it are not generated.
    start:
        Time the period starts.
    spend:
        Gamma-Gamma ``(p, q, v)`` of each purchase's ``amount``; ``None`` gives amount 1.
    acquisition_share:
        First purchases are uniform over the first ``acquisition_share`` of the period.
    first_id, seed:
        Offset of the customer numbers and the random seed, to draw a large population in
        independent blocks.

    Returns
    -------
    pyarrow.Table
        ``customer_id`` (string), ``purchased_at`` (timestamp), ``amount`` (double), sorted
        by customer and time.

    Examples
    --------
    >>> events = simulate_bgnbd_events(100, r=1.0, alpha=20.0, a=1.0, b=3.0, days=60)
    >>> events.column_names
    ['customer_id', 'purchased_at', 'amount']
    >>> len(set(events.column("customer_id").to_pylist()))
    100
    """
    _positive(r=r, alpha=alpha, a=a, b=b, days=days, acquisition_share=acquisition_share)
    if acquisition_share > 1:
        raise ValueError(f"acquisition_share={acquisition_share!r} must be at most 1")
    rng = np.random.default_rng(seed)
    first = rng.random(customers) * days * acquisition_share
    big_t = days - first
    rate = rng.gamma(r, 1.0 / alpha, customers)
    dropout = rng.beta(a, b, customers)
    last_possible = rng.geometric(np.clip(dropout, 1e-300, 1.0))
    in_period = rng.poisson(rate * big_t)
    x = np.minimum(in_period, last_possible)
    # the first x of in_period uniform points on [0, T]: cumulative exponential gaps over
    # the sum of all in_period + 1 gaps (the part not drawn is one Gamma variate)
    owner = np.repeat(np.arange(customers), x)
    gaps = rng.exponential(1.0, owner.size)
    cumulative = np.cumsum(gaps)
    offsets = np.concatenate([[0], np.cumsum(x)[:-1]])
    before = np.concatenate([[0.0], cumulative])[offsets]
    within = cumulative - np.repeat(before, x)
    drawn = np.zeros(customers)
    ends = np.cumsum(x) - 1
    drawn[x > 0] = within[ends[x > 0]]
    rest = rng.gamma(np.maximum(in_period - x + 1, 1e-300), 1.0)
    scale = big_t / (drawn + rest)
    repeat_time = first[owner] + within * scale[owner]
    who = np.concatenate([np.arange(customers), owner])
    when = np.concatenate([first, repeat_time])
    order = np.lexsort((when, who))
    who, when = who[order], when[order]
    if spend is None:
        amount = np.ones(who.size)
    else:
        p, q, v = spend
        _positive(p=p, q=q, v=v)
        nu = rng.gamma(q, 1.0 / v, customers)
        amount = np.round(rng.gamma(p, 1.0 / nu[who]), 2) + 0.01
    micros = (np.datetime64(start, "us")
              + (when * _SECONDS_PER_DAY * 1e6).astype(np.int64).astype("timedelta64[us]"))
    return pa.table({
        "customer_id": pa.array(_ids(customers, first_id)[who]),
        "purchased_at": pa.array(micros, type=pa.timestamp("us")),
        "amount": pa.array(amount, type=pa.float64()),
    })
