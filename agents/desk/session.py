"""A session's preparation: what every cycle of a trading day shares, computed from the data
before the session only (the previous closes), and the session's features.

``prepare_session`` is a pure function of the history before the session: preparing it
again gives the same numbers, so keeping it for the session changes speed, never decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from agents.desk.models import DeskModels
from agents.desk.steps import last_present
from agents.execution.impact import ImpactModel
from agents.risk_manager.agent import PreparedRisk, RiskManager
from agents.risk_manager.budget import RiskBudget
from agents.risk_manager.hedge import HedgeModel
from agents.risk_manager.stress import crisis_moves

IMPACT_VOLATILITY_DAYS = 64  # closes behind each name's impact calibration
IMPACT_VOLUME_DAYS = 63


class FeatureReader(Protocol):
    features: list[str]

    def read(self, symbols: list[str], as_of: datetime | None = None) -> Any:
        """An object with ``values`` (symbols x features) and ``newest_timestamp``."""


@dataclass(frozen=True)
class SessionPreparation:
    day: date
    risk: PreparedRisk  # the day's risk model: covariance, Monte Carlo draws, crisis moves
    regime: str | None  # the regime model's label at the previous close (None: no index)
    impact: dict[str, ImpactModel]  # per symbol, calibrated on recent volatility and volume
    returns: pd.DataFrame  # daily returns of the universe up to the previous close
    hedge: HedgeModel | None = None  # the hedge instrument's beta model (None: no hedge)

    def budget(self, weights: pd.Series, regime: str | None, drawdown: float) -> RiskBudget:
        """The session's risk budget for ``weights``, forecast on the hedged book when the
        hedge is inside the budget."""
        covariance = None
        if self.hedge is not None and self.hedge.policy.inside_budget:
            covariance = self.hedge.hedged_covariance(self.risk.covariance, self.risk.symbols)
        budget = self.risk.budget(weights, regime, drawdown, covariance)
        if covariance is not None:
            hedged = f"forecast with the {self.hedge.policy.beta_ratio:g} x beta hedge"
            budget = replace(budget, reasons=[hedged, *budget.reasons])
        return budget


def prepare_session(
    day: date,
    history: pd.DataFrame,
    volumes: pd.DataFrame,
    symbols: list[str],
    index_symbol: str | None,
    models: DeskModels,
    risk_manager: RiskManager,
    hedge_instrument: str | None = None,
) -> SessionPreparation:
    """``history`` and ``volumes``: daily closes and volumes before the session (wide);
    ``hedge_instrument``: a column of both, traded only by the hedge."""
    index = history.get(index_symbol) if index_symbol is not None else None
    regime = None
    if models.regime_model is not None and index is not None:
        regime = models.regime_model.latest_label(index.pct_change().iloc[1:])
    returns = history.pct_change(fill_method=None).iloc[1:]
    traded = [*symbols, hedge_instrument] if hedge_instrument is not None else symbols
    recent = history[traded].tail(IMPACT_VOLATILITY_DAYS)
    recent_volumes = volumes[traded].tail(IMPACT_VOLUME_DAYS)
    # One frame-wide pass (the same per-column arithmetic as one Series at a time: a 500-name
    # universe spent most of its preparation in per-symbol pandas calls).
    changes = recent.pct_change().to_numpy()
    last_price = last_present(recent)
    impact = {
        s: ImpactModel.calibrate(
            column[~np.isnan(column)], recent_volumes[s].to_numpy(), price=float(last_price[s])
        )
        for s, column in zip(traded, changes.T, strict=True)
    }
    hedge = None
    if hedge_instrument is not None:
        crises = crisis_moves(history[[hedge_instrument]])
        hedge = HedgeModel(
            models.risk_limits.hedge,
            hedge_instrument,
            returns[traded],
            {c.scenario: float(c.moves[0]) for c in crises},
        )
    return SessionPreparation(
        day=day,
        risk=risk_manager.prepare(history[symbols], models.sectors, index),
        regime=regime,
        impact=impact,
        returns=returns,
        hedge=hedge,
    )


@dataclass(frozen=True)
class FeatureRead:
    features: pd.DataFrame  # symbols x features; NaN where missing or stale
    newest: datetime | None
    coverage: float  # share of symbols with at least one fresh feature
    error: str | None  # why the store could not be read, if it could not


def read_features(reader: FeatureReader, symbols: list[str], at: datetime) -> FeatureRead:
    """The online store's features at ``at``; a store that cannot be read gives no
    features and says why (the cycle then refuses to trade instead of failing)."""
    try:
        read = reader.read(symbols, as_of=at.replace(tzinfo=None))
    except Exception as error:  # the online store is down: no features, no trading
        features = pd.DataFrame(np.nan, index=symbols, columns=reader.features)
        newest, problem = None, f"online feature store unreadable: {type(error).__name__}: {error}"
    else:
        features = pd.DataFrame(read.values, index=symbols, columns=reader.features)
        newest, problem = read.newest_timestamp, None
    coverage = float(features.notna().any(axis=1).mean())
    return FeatureRead(features, newest, coverage, problem)
