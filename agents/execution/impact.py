"""Almgren-Chriss style market impact, with the empirical coefficients of Almgren, Thum,
Hauptmann and Li (2005, "Direct estimation of equity market impact").

For a trade of X shares executed at rate v = X / T (T in days) in a stock with daily
volatility sigma and average daily volume V:
    temporary impact (fraction of price) = eta * sigma * (v / V) ** beta
    permanent impact (fraction of price) = gamma * sigma * (X / V) ** alpha
with eta = 0.142, gamma = 0.314, beta = 0.6, alpha = 1. The trader pays the temporary impact
on every share and, on average, half of the permanent impact (it builds up during the trade).
"""

from __future__ import annotations

from dataclasses import dataclass

# Without volume data (skfolio's S&P 500 prices have none) the ADV is this many dollars:
# the order of magnitude of a large US stock's daily traded value. Documented, not measured.
DEFAULT_ADV_USD = 250e6


@dataclass(frozen=True)
class ImpactModel:
    daily_volatility: float
    adv_shares: float
    eta: float = 0.142
    gamma: float = 0.314
    beta: float = 0.6
    alpha: float = 1.0
    calibrated_from_volume: bool = True

    @classmethod
    def calibrate(cls, daily_returns, volumes=None, price: float | None = None) -> ImpactModel:
        """From a stock's recent daily returns and volumes (shares). With no volumes, the ADV
        is DEFAULT_ADV_USD / price, and the model says it was not calibrated from volume."""
        import numpy as np

        sigma = float(np.nanstd(np.asarray(daily_returns, dtype=float), ddof=1))
        volume = None if volumes is None else np.asarray(volumes, dtype=float)
        if volume is not None and np.isfinite(volume).any() and np.nanmean(volume) > 0:
            return cls(daily_volatility=sigma, adv_shares=float(np.nanmean(volume)))
        if price is None or price <= 0:
            raise ValueError("without volume data, a price is needed for the default ADV")
        return cls(
            daily_volatility=sigma, adv_shares=DEFAULT_ADV_USD / price, calibrated_from_volume=False
        )

    def temporary(self, shares: float, duration_days: float) -> float:
        rate = abs(shares) / max(duration_days, 1e-9)
        return self.eta * self.daily_volatility * (rate / self.adv_shares) ** self.beta

    def permanent(self, shares: float) -> float:
        return self.gamma * self.daily_volatility * (abs(shares) / self.adv_shares) ** self.alpha

    def expected_cost(self, shares: float, duration_days: float, half_spread: float) -> float:
        """Expected cost of the whole order, as a fraction of its notional."""
        return half_spread + self.temporary(shares, duration_days) + 0.5 * self.permanent(shares)
