"""How the risk budget's defaults were chosen, on 1990-2018 only: run it to see the evidence.

    python -m benchmarks.risk_budget_choice [--market-data sp500] [--end 2018-12-31]

The risk budget is an overlay on whatever book the optimizer proposes; its parameters are
chosen on a book that does not depend on any learned model (equal weight over the universe,
rebalanced weekly like the desk, 10 bp per unit traded), so the choice cannot be fitted to
the analyst's signal. Each variant switches one piece of the budget on or off, or moves one
parameter, and the JSON lists Sharpe, volatility and maximum drawdown per variant. Decisions
use returns up to the previous close; trades happen at the close; nothing after ``--end`` is
read. The regime model is refitted each January on the index's returns before that year.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np
import pandas as pd

from agents.backtest.metrics import performance
from agents.market_analyst.regime import RegimeModel
from agents.risk_manager.budget import RiskBudgetPolicy, ewma_covariance, set_budget
from features.ingestion.market_data import load_market_data

COST_PER_UNIT_TRADED = 0.001
EWMA_WINDOW_DAYS = 250  # 0.94**250 is 2e-7: a longer window changes nothing
DECISION_EVERY = 5
HEDGE_FINANCING_ANNUAL = 0.005  # a what-if: 50 bp a year on the short index notional


def regimes_by_day(index: pd.Series, first_year: int, last_year: int) -> pd.Series:
    """The regime label at each close, from a model fitted on the years before it."""
    returns = index.pct_change().dropna()
    labels = []
    for year in range(first_year, last_year + 1):
        model = RegimeModel().fit(returns[returns.index.year < year].tail(2520))
        upto = returns[returns.index.year <= year]
        labelled = model.label(upto)
        labels.append(labelled[labelled.index.year == year])
    return pd.concat(labels)


def run_overlay(
    returns: pd.DataFrame,
    regimes: pd.Series | None,
    policy: RiskBudgetPolicy,
    start: pd.Timestamp,
    index_returns: pd.Series | None = None,
    hedge_ratio: float = 0.0,
    hedge_in_budget: bool = False,
) -> pd.Series:
    """Daily net returns of the equal-weight book under ``policy``, from ``start``; with
    ``hedge_ratio`` > 0, also short the index by that share of the book's EWMA beta, paying
    ``HEDGE_FINANCING_ANNUAL`` on the short's notional. ``hedge_in_budget``: the volatility
    target is met by the hedged book (long leg and short together) instead of the long leg
    alone, the long leg still capped at ``max_gross``."""
    if hedge_ratio:
        returns = returns.assign(__index__=index_returns.reindex(returns.index))
    r = returns.to_numpy()
    days = returns.index
    first = int(days.searchsorted(start))
    weights = np.zeros(r.shape[1])
    nav, peak, out = 1.0, 1.0, []
    for t in range(first, len(days)):
        growth = float(weights @ np.nan_to_num(r[t]))
        if hedge_ratio:  # the short's financing, per day
            growth -= HEDGE_FINANCING_ANNUAL / 252 * abs(float(weights[-1]))
        nav *= 1 + growth
        weights = weights * (1 + np.nan_to_num(r[t])) / (1 + growth)
        peak = max(peak, nav)
        day_return = growth
        if (t - first) % DECISION_EVERY == 0:
            window = r[max(0, t - EWMA_WINDOW_DAYS) : t]  # up to the previous close
            live = np.isfinite(r[t - 1]) & np.isfinite(r[t])
            if hedge_ratio:
                live[-1] = False
            shape = live / live.sum()
            covariance = ewma_covariance(window, policy.ewma_decay)
            if hedge_ratio and hedge_in_budget:  # the budget sizes the hedged shape
                shape[-1] = -hedge_ratio * float(covariance[-1] @ shape / covariance[-1, -1])
            budget = set_budget(
                shape,
                covariance,
                replace(policy, max_gross=policy.max_gross + abs(shape[-1]))
                if hedge_ratio and hedge_in_budget
                else policy,
                regime=None if regimes is None else regimes.get(days[t - 1]),
                drawdown=1 - nav / peak,
            )
            target = shape * budget.scale
            if hedge_ratio and not hedge_in_budget:
                beta = float(covariance[-1] @ target / covariance[-1, -1])
                target[-1] = -hedge_ratio * beta
            cost = COST_PER_UNIT_TRADED * float(np.abs(target - weights).sum())
            nav *= 1 - cost
            day_return = (1 + growth) * (1 - cost) - 1
            weights = target
        out.append(day_return)
    return pd.Series(out, index=days[first:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--market-data", default="sp500")
    parser.add_argument("--start", default="1997-01-02")
    parser.add_argument("--end", default="2018-12-31")
    args = parser.parse_args()
    data = load_market_data(args.market_data)
    closes = data.prices.pivot(index="date", columns="symbol", values="close")
    closes.index = pd.to_datetime(closes.index)
    closes = closes.loc[: args.end]  # nothing after the selection period is read
    index = closes.pop(data.benchmark_symbol) if data.benchmark_symbol else None
    returns = closes.pct_change(fill_method=None).iloc[1:]
    start = pd.Timestamp(args.start)
    regimes = (
        regimes_by_day(index, start.year, returns.index[-1].year) if index is not None else None
    )
    base = RiskBudgetPolicy()
    off = replace(base, enabled=False)
    no_dd = replace(base, drawdown_start=1.0, drawdown_full=1.01)
    variants = {
        "no_budget (fully invested)": (off, None),
        "volatility_target_only": (replace(no_dd, stressed_scale=1.0), None),
        "volatility_target + regime": (no_dd, regimes),
        "volatility_target + drawdown": (replace(base, stressed_scale=1.0), None),
        "default (target + regime + drawdown)": (base, regimes),
        **{
            f"default, target {v:.0%}": (replace(base, target_volatility=v), regimes)
            for v in (0.06, 0.08, 0.12, 0.15)
        },
        **{
            f"default, stressed x{s:g}": (replace(base, stressed_scale=s), regimes)
            for s in (0.25, 0.75)
        },
        "default, drawdown 10%..20%": (
            replace(base, drawdown_start=0.10, drawdown_full=0.20),
            regimes,
        ),
    }
    index_returns = index.pct_change() if index is not None else None
    hedged = (
        {
            **{
                f"default + index hedge x{h:g} of beta": (base, regimes, h, False)
                for h in (0.25, 0.5, 0.75, 1.0)
            },
            **{
                f"default + index hedge x{h:g} of beta, inside the budget": (base, regimes, h, True)
                for h in (0.5, 0.75, 1.0)
            },
        }
        if index is not None
        else {}
    )
    results = {}
    for name, (policy, regime_labels, *hedge) in {**variants, **hedged}.items():
        daily = run_overlay(returns, regime_labels, policy, start, index_returns, *hedge)
        perf = performance(daily)
        results[name] = {k: perf[k] for k in ("cagr", "volatility", "sharpe", "max_drawdown")}
    print(json.dumps({
        "book": "equal weight, weekly, 10 bp per unit traded",
        "period": [str(returns.index[returns.index >= start][0].date()), args.end],
        "variants": results,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
