"""Circuit breakers: conditions under which the desk stops trading until a person says so.

Thresholds default to the design document's emergency limits. Each check is evaluated on the
book as it stands at the start of a cycle (before any new order), from data known then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

# On a breach the desk halts; what it does to the book first: ``hold`` keeps it as it is,
# ``flatten`` sells everything, ``reduce`` cuts every position to ``reduce_to`` of the size
# the risk budget allows for the book as it stands.
HaltPolicy = Literal["hold", "flatten", "reduce"]


DESIGN_CONCENTRATION = 0.10  # the design document's emergency limit for one position


@dataclass(frozen=True)
class BreakerThresholds:
    daily_loss_limit: float = 0.02  # loss since the session's start, fraction of NAV
    # Largest single position, fraction of NAV. None: the design's 10%, or, when the
    # universe's position cap is larger (a name may hold twice its equal share), half again
    # that cap, so the breaker guards the cap instead of firing on every book that uses it.
    # A number given here is used as it is.
    position_concentration: float | None = None
    concentration_over_cap: float = 1.5
    correlation_spike: float = 0.80  # mean pairwise correlation of the held names
    model_confidence_drop: float = 0.30  # fall of the analyst's mean confidence
    correlation_window_days: int = 20
    policy: HaltPolicy = "hold"  # on a breach: hold the book, flatten it, or reduce it
    reduce_to: float = 0.5  # the reduce policy's share of the risk budget kept


@dataclass(frozen=True)
class Breach:
    breaker: str
    value: float
    threshold: float

    @property
    def reason(self) -> str:
        return f"{self.breaker} {self.value:.4f} breaches {self.threshold:.4f}"


@dataclass(frozen=True)
class BookState:
    """What the breakers look at: values in dollars, returns as fractions."""

    nav: float
    session_start_nav: float
    position_values: pd.Series  # by symbol
    recent_returns: pd.DataFrame  # daily returns of the universe, up to the last close
    mean_confidence: float | None  # the analyst's, this cycle
    usual_confidence: float | None  # its smoothed past level


def mean_pairwise_correlation(returns: pd.DataFrame) -> float:
    """Average off-diagonal correlation; NaN with fewer than two moving names or too few
    days."""
    clean = returns.dropna(axis=1, how="any")
    clean = clean.loc[:, clean.std() > 0]  # a flat series has no correlation to speak of
    if clean.shape[1] < 2 or len(clean) < 3:
        return float("nan")
    corr = np.corrcoef(clean.to_numpy(), rowvar=False)
    upper = corr[np.triu_indices_from(corr, k=1)]
    return float(np.nanmean(upper))


class CircuitBreakers:
    def __init__(
        self, thresholds: BreakerThresholds | None = None, position_cap: float = 0.0
    ) -> None:
        """``position_cap``: the universe's per-name cap (``agents.universe_limits``)."""
        thresholds = thresholds or BreakerThresholds()
        if thresholds.position_concentration is None:
            scaled = thresholds.concentration_over_cap * position_cap
            thresholds = replace(
                thresholds, position_concentration=max(DESIGN_CONCENTRATION, scaled)
            )
        self.thresholds = thresholds
        # The last correlation measured: (returns frame, held names, value). See _correlation.
        self._last_correlation: tuple[pd.DataFrame, tuple, float] | None = None

    def check(self, book: BookState) -> list[Breach]:
        t = self.thresholds
        breaches = []
        if book.session_start_nav > 0:
            loss = 1.0 - book.nav / book.session_start_nav
            if loss > t.daily_loss_limit:
                breaches.append(Breach("daily_loss", loss, t.daily_loss_limit))
        held = book.position_values[book.position_values != 0]
        if len(held) and book.nav > 0:
            largest = float(held.abs().max() / book.nav)
            if largest > t.position_concentration:
                breaches.append(Breach("position_concentration", largest, t.position_concentration))
        if len(held) >= 2:
            correlation = self._correlation(book.recent_returns, tuple(held.index))
            if correlation > t.correlation_spike:
                breaches.append(Breach("correlation_spike", correlation, t.correlation_spike))
        if book.mean_confidence is not None and book.usual_confidence is not None:
            drop = book.usual_confidence - book.mean_confidence
            if drop > t.model_confidence_drop:
                breaches.append(Breach("model_confidence_drop", drop, t.model_confidence_drop))
        return breaches

    def _correlation(self, returns: pd.DataFrame, names: tuple) -> float:
        """The held names' mean pairwise correlation over the window. Every cycle of a
        session passes the same returns frame (the session's preparation, up to the last
        close) and mostly the same held names, so the last value is kept for that frame,
        compared by identity, and those names: 4-9 ms a cycle at 300-500 names."""
        last = self._last_correlation
        if last is not None and last[0] is returns and last[1] == names:
            return last[2]
        window = returns.reindex(columns=list(names)).tail(self.thresholds.correlation_window_days)
        value = mean_pairwise_correlation(window)
        self._last_correlation = (returns, names, value)
        return value
