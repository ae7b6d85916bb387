"""The Market Analyst agent: forecasts and regime -> trading_signal messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from agents.market_analyst.ensemble import SignalEnsemble
from agents.messages import Envelope, TradingSignal, envelope

AGENT_ID = "market_analyst_001"


@dataclass(frozen=True)
class SignalPolicy:
    """When a forecast becomes a trade. In a stressed regime the bar rises, because the same
    forecast error costs more when volatility is high."""

    min_expected_return: float = 0.002  # over the horizon; below this, HOLD (costs ~10 bp)
    min_confidence: float = 0.5
    regime_multiplier: dict[str, float] = field(
        default_factory=lambda: {"calm": 1.0, "normal": 1.0, "stressed": 2.0}
    )
    horizon: str = "5D"


class MarketAnalyst:
    def __init__(self, model: SignalEnsemble, policy: SignalPolicy | None = None) -> None:
        self.model = model
        self.policy = policy or SignalPolicy()

    def signals(
        self,
        features: pd.DataFrame,
        regime: str | None,
        timestamp: datetime,
        cycle_id: str,
        model_version: str | int | None = None,
    ) -> list[Envelope]:
        """One trading_signal message per symbol (``features`` indexed by symbol)."""
        views = self.views(features, regime)
        return self.send(views, timestamp, cycle_id, model_version)

    def views(self, features: pd.DataFrame, regime: str | None) -> list[TradingSignal]:
        """One view per symbol. A symbol whose features are all missing gets HOLD with
        confidence 0: no data, no view."""
        forecast = self.model.predict(features)
        confidence = self.model.confidence(forecast)
        shares = self.model.attribution(features)
        bar = self.policy.min_expected_return * self.policy.regime_multiplier.get(regime or "", 1)
        missing = features.isna().all(axis=1).to_numpy()
        out = []
        for i, symbol in enumerate(features.index):
            er, conf = float(forecast[i]), float(confidence[i])
            if missing[i]:
                action, er, conf = "HOLD", 0.0, 0.0
            elif conf >= self.policy.min_confidence and abs(er) >= bar:
                action = "BUY" if er > 0 else "SELL"
            else:
                action = "HOLD"
            attribution = {k: float(v) for k, v in shares.iloc[i].items()}
            signal = TradingSignal(
                symbol=str(symbol),
                signal=action,
                confidence=float(np.clip(conf, 0, 1)),
                expected_return=er,
                time_horizon=self.policy.horizon,
                regime=regime,
                attribution=_renormalised(attribution),
            )
            out.append(signal)
        return out

    @staticmethod
    def send(
        views: list[TradingSignal],
        timestamp: datetime,
        cycle_id: str,
        model_version: str | int | None = None,
    ) -> list[Envelope]:
        """The views as the cycle's trading_signal messages."""
        return [
            envelope(AGENT_ID, v, timestamp, cycle_id=cycle_id, model_version=model_version)
            for v in views
        ]


def _renormalised(shares: dict[str, float]) -> dict[str, float]:
    total = sum(shares.values())
    return {k: v / total for k, v in shares.items()}
