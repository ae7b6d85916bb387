"""Order schedules over the trading day's buckets: TWAP, VWAP and POV, in whole shares."""

from __future__ import annotations

import numpy as np

# A stylised U-shaped share of daily volume per half hour of the NYSE session (13 buckets,
# 09:30-16:00): heavy at the open and into the close, as in published US-equity intraday
# volume curves. No intraday volumes ship with the data, so this is a documented default;
# pass a measured profile where one exists.
NYSE_HALF_HOUR_VOLUME_PROFILE = np.array(
    [0.120, 0.090, 0.075, 0.065, 0.060, 0.055, 0.055, 0.055, 0.060, 0.065, 0.075, 0.095, 0.130]
)
NYSE_HALF_HOUR_VOLUME_PROFILE = NYSE_HALF_HOUR_VOLUME_PROFILE / NYSE_HALF_HOUR_VOLUME_PROFILE.sum()


def _whole_shares(quantity: int, shares: np.ndarray) -> np.ndarray:
    """Split ``quantity`` in proportion to ``shares`` into integers that sum to it exactly
    (largest remainders get the leftover shares)."""
    shares = np.asarray(shares, dtype=float) / np.sum(shares)
    raw = quantity * shares
    whole = np.floor(raw).astype(int)
    leftover = quantity - whole.sum()
    whole[np.argsort(-(raw - whole), kind="stable")[:leftover]] += 1
    return whole


def twap(quantity: int, buckets: int) -> np.ndarray:
    """Equal slices in each of ``buckets`` intervals."""
    return _whole_shares(quantity, np.ones(buckets))


def vwap(quantity: int, volume_profile: np.ndarray = NYSE_HALF_HOUR_VOLUME_PROFILE) -> np.ndarray:
    """Slices in proportion to the expected share of the day's volume in each bucket."""
    return _whole_shares(quantity, volume_profile)


def pov(quantity: int, participation: float, bucket_volumes: np.ndarray) -> np.ndarray:
    """Trade ``participation`` of the market's volume in each bucket until done. What the
    market's volume cannot absorb at that rate stays unscheduled (the sum may fall short)."""
    caps = np.floor(participation * np.asarray(bucket_volumes, dtype=float)).astype(int)
    done = np.minimum(np.cumsum(caps), quantity)
    return np.diff(np.concatenate([[0], done]))


def almgren_chriss(quantity: int, buckets: int, kappa: float) -> np.ndarray:
    """The Almgren-Chriss (2000) optimal trajectory with linear temporary impact: the shares
    still to trade at the start of bucket j are X sinh(kappa (N - j)) / sinh(kappa N), so
    the slices front-load as the urgency ``kappa`` (per bucket) rises; kappa 0 is TWAP."""
    if kappa <= 1e-9:
        return twap(quantity, buckets)
    kappa = min(kappa, 50.0 / buckets)  # beyond this, all but nothing trades first; sinh overflows
    remaining = np.sinh(kappa * (buckets - np.arange(buckets + 1))) / np.sinh(kappa * buckets)
    return _whole_shares(quantity, -np.diff(remaining))


def almgren_chriss_kappa(
    risk_aversion: float, bucket_variance: float, temporary_per_rate: float
) -> float:
    """kappa of the discrete trajectory: 2 (cosh kappa - 1) = lambda sigma^2 tau / eta~, with
    the variance of one bucket's return and the temporary impact per unit of the order's
    fraction traded in a bucket (both in fractions of notional)."""
    if risk_aversion <= 0 or temporary_per_rate <= 0:
        return 0.0
    return float(np.arccosh(1.0 + risk_aversion * bucket_variance / (2.0 * temporary_per_rate)))
