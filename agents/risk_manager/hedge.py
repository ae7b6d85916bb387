"""The Risk Manager's dynamic hedge: a short in the market index (or an instrument the user
names) sized from the book's beta, so the desk keeps what its names earn over the market and
sheds part of the market's own moves.

- Beta is forecast like the budget's volatility: from the exponentially weighted (RiskMetrics,
  decay 0.94) covariance of each name's daily returns with the instrument's, up to the
  previous close.
- The hedge is ``beta_ratio`` of the book's beta, as a signed fraction of NAV: three
  quarters by default, chosen on 1997-2018 only (``benchmarks.risk_budget_choice``,
  docs/desk_quality.md): of 0.25 to 1, with the budget sizing the hedged book, 0.75 had the
  best Sharpe; a full hedge gives up more of the equity premium than it saves in risk.
- By default the risk budget sizes the hedged book: the names' gross exposure is set so that
  names and hedge together meet the volatility target (``inside_budget``), never above the
  budget's gross cap on the names.
- It is re-traded only when it is off its target by more than ``rebalance_band`` of NAV, so a
  beta that drifts a little does not churn it.
- The short pays the Risk Manager's ``short_financing_annual`` on its notional at every close
  it is held (the borrow fee and financing spread of an index short through a future or an
  ETF), booked in the ledger as a ``financing`` event (``agents.desk.financing``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from agents.risk_manager.budget import RISKMETRICS_DECAY, TRADING_DAYS, ewma_covariance

BETA_WINDOW_DAYS = 250  # 0.94**250 is 2e-7: a longer window changes nothing


@dataclass(frozen=True)
class HedgePolicy:
    enabled: bool = True
    instrument: str | None = None  # None: the data's index, when it has one
    beta_ratio: float = 0.75  # the share of the book's beta the hedge takes out
    rebalance_band: float = 0.01  # of NAV: a smaller gap to the target is not traded
    # The risk budget sizes the hedged book (names and hedge together) to its volatility
    # target, instead of the names alone with the hedge on top.
    inside_budget: bool = True
    ewma_decay: float = RISKMETRICS_DECAY


@dataclass(frozen=True)
class HedgeTarget:
    instrument: str
    book_beta: float  # of the book the hedge is sized on, to the instrument
    weight: float  # the hedge the policy asks for, signed fraction of NAV (short: negative)
    current_weight: float
    trade: bool  # the gap is wider than the band
    unhedged_volatility: float  # annualised forecasts, without and with the target hedge
    hedged_volatility: float
    reasons: list[str] = field(default_factory=list)

    def payload(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HedgedBook:
    """What the Risk Manager's limits judge a book on when it carries the hedge."""

    weight: float  # the hedge the book would carry, signed fraction of NAV
    covariance: np.ndarray  # the names' daily covariance with that hedge in (hedged_covariance)
    crisis_moves: dict[str, float]  # the instrument's move over each crisis window


class HedgeModel:
    """A session's hedge model: the names' and the instrument's EWMA covariance up to the
    previous close. Sizing a hedge for a book is then a few dot products."""

    def __init__(
        self,
        policy: HedgePolicy,
        instrument: str,
        returns: pd.DataFrame,
        crisis_moves: dict[str, float] | None = None,
    ) -> None:
        """``returns``: daily returns up to the previous close, one column per name and one
        for ``instrument``; ``crisis_moves``: the instrument's move in each stress window."""
        if instrument not in returns.columns:
            raise ValueError(f"hedge instrument {instrument!r} has no returns in the history")
        self.policy = policy
        self.instrument = instrument
        self.crisis_moves = dict(crisis_moves or {})
        self.symbols = [c for c in returns.columns if c != instrument]
        window = returns[[*self.symbols, instrument]].tail(BETA_WINDOW_DAYS).to_numpy()
        covariance = ewma_covariance(window, policy.ewma_decay)
        self._names = covariance[:-1, :-1]
        self._with_instrument = covariance[:-1, -1]
        self._instrument_variance = float(covariance[-1, -1])
        # The last hedged covariance: (the covariance it hedged, the result). See below.
        self._hedged: tuple[np.ndarray, np.ndarray] | None = None

    def beta(self, weights: pd.Series) -> float:
        """The book's beta to the instrument (0 when the instrument has not moved)."""
        if self._instrument_variance <= 0:
            return 0.0
        w = weights.reindex(self.symbols).fillna(0.0).to_numpy(dtype=float)
        return float(w @ self._with_instrument / self._instrument_variance)

    def target(self, weights: pd.Series, current_weight: float) -> HedgeTarget:
        """The hedge for the book ``weights`` (fractions of NAV, the names only) when the
        instrument is held at ``current_weight`` now."""
        policy = self.policy
        beta = self.beta(weights)
        w = weights.reindex(self.symbols).fillna(0.0).to_numpy(dtype=float)
        weight = -policy.beta_ratio * beta if policy.enabled else 0.0
        reasons = [f"{policy.beta_ratio:g} x book beta {beta:.3f}" if policy.enabled else "off"]
        if weight > 0:  # a book with a negative beta is not hedged by going long the index
            weight, reasons = 0.0, [*reasons, "negative beta: no hedge"]
        gap = abs(weight - current_weight)
        trade = gap > policy.rebalance_band
        if not trade:
            reasons.append(f"within the {policy.rebalance_band:.1%} band: not traded")
        return HedgeTarget(
            instrument=self.instrument,
            book_beta=beta,
            weight=weight,
            current_weight=current_weight,
            trade=trade,
            unhedged_volatility=self._volatility(w, 0.0),
            hedged_volatility=self._volatility(w, weight),
            reasons=reasons,
        )

    def book(self, weights: pd.Series, covariance: np.ndarray, symbols: list[str]) -> HedgedBook:
        """The book ``weights`` with the hedge the policy gives it (no band: the hedge it
        would carry), for the limits to judge."""
        weight = self.target(weights, current_weight=0.0).weight
        return HedgedBook(weight, self.hedged_covariance(covariance, symbols), self.crisis_moves)

    def hedged_covariance(self, covariance: np.ndarray, symbols: list[str]) -> np.ndarray:
        """The names' daily covariance (aligned with ``self.symbols``) of a book that carries
        this policy's hedge: with h = -r * beta(w), var(w, h) = w' (C - r(2 - r) c c' / s2) w,
        where c is the names' covariance with the instrument and s2 its variance. The budget
        sizes a book on it exactly as on the unhedged covariance."""
        if list(symbols) != self.symbols:
            raise ValueError("the covariance's names differ from the hedge model's")
        if not self.policy.enabled or self._instrument_variance <= 0:
            return covariance
        # Every cycle of a session asks this of the session's one covariance twice (its
        # budget and its limits), a 500-name outer product each (2-5 ms): the last answer is
        # kept for that array, compared by identity and held here, and shared read-only.
        kept = self._hedged
        if kept is not None and kept[0] is covariance:
            return kept[1]
        r, c = self.policy.beta_ratio, self._with_instrument
        hedged = covariance - r * (2 - r) * np.outer(c, c) / self._instrument_variance
        hedged.flags.writeable = False
        self._hedged = (covariance, hedged)
        return hedged

    def _volatility(self, w: np.ndarray, hedge: float) -> float:
        variance = (
            w @ self._names @ w
            + 2 * hedge * float(w @ self._with_instrument)
            + hedge**2 * self._instrument_variance
        )
        return float(np.sqrt(max(variance, 0.0) * TRADING_DAYS))
