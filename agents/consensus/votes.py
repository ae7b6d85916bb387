"""How each agent's output becomes a support in [-1, 1] for a proposed trade."""

from __future__ import annotations

import numpy as np

from agents.messages import TradingSignal


def analyst_support(
    signals: dict[str, TradingSignal], symbols: list[str], direction: np.ndarray
) -> np.ndarray:
    """+confidence when the analyst's call points the trade's way, -confidence against it,
    0 for HOLD or no signal."""
    out = np.zeros(len(symbols))
    for i, symbol in enumerate(symbols):
        signal = signals.get(symbol)
        if signal is None or signal.signal == "HOLD":
            continue
        agrees = (signal.signal == "BUY") == (direction[i] > 0)
        out[i] = signal.confidence if agrees else -signal.confidence
    return out


def optimizer_support(count: int, conviction: float) -> np.ndarray:
    """The optimizer backs its own trades with the conviction of the proposal behind them."""
    return np.full(count, conviction)


def risk_support(reduces_position: np.ndarray, var_headroom: float) -> np.ndarray:
    """Full support for shrinking a position; for adding risk, the unused share of the VaR
    limit (no headroom, no support)."""
    return np.where(reduces_position, 1.0, float(np.clip(var_headroom, 0.0, 1.0)))


def execution_support(expected_cost: np.ndarray, cost_budget: float) -> np.ndarray:
    """For a trade that costs less than the budget (fraction of notional), against one that
    costs more: 1 - cost / budget, clipped to [-1, 1]."""
    return np.clip(1.0 - np.asarray(expected_cost) / cost_budget, -1.0, 1.0)
