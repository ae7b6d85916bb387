"""The tearsheet's tables and the design's success metrics, on hand-made returns."""

import pandas as pd
import pytest

from agents.backtest.report import design_success
from agents.backtest.tearsheet import drawdown_periods, metrics_table


def _measured(sharpe: float, drawdown: float) -> dict:
    return {"start": "2000-01-03", "end": "2018-12-31", "sharpe": sharpe, "max_drawdown": drawdown}


def test_design_success_says_met_only_when_both_bars_are_cleared_and_how_far_otherwise():
    measured = {
        "desk": {"full": _measured(1.6, 0.08), "before_holdout": _measured(1.2, 0.12)},
        "equal_weight": {"full": _measured(0.8, 0.5), "before_holdout": _measured(1.3, 0.4)},
    }
    verdict = design_success(measured)
    assert verdict["full"]["met"] and verdict["full"]["sharpe_above_every_benchmark"]
    selection = verdict["before_holdout"]
    assert not selection["met"] and not selection["sharpe_met"]
    assert not selection["max_drawdown_met"]
    assert selection["sharpe_short_by"] == pytest.approx(0.3)
    assert selection["max_drawdown_over_by"] == pytest.approx(0.02)
    assert not selection["sharpe_above_every_benchmark"]  # equal weight's 1.3 is higher
    assert "holdout" not in verdict


def test_drawdown_periods_find_peak_trough_and_recovery():
    days = pd.bdate_range("2020-01-01", periods=8)
    returns = pd.Series([0.0, -0.1, -0.1, 0.3, 0.0, -0.05, 0.0, 0.0], index=days)
    periods = drawdown_periods(returns)
    deepest = periods.iloc[0]
    assert deepest.start == days[1] and deepest.trough == days[2] and deepest.recovery == days[3]
    assert deepest.depth == pytest.approx(0.19)
    assert pd.isna(periods.iloc[1].recovery) and periods.iloc[1].depth == pytest.approx(0.05)


def test_the_metrics_table_has_a_row_per_strategy_and_period():
    m = {"start": "2000-01-03", "end": "2000-12-29", "cagr": 0.1, "sharpe": 1.0}
    content = {"strategies": {"desk": {"full": m, "holdout": m}, "index": {"full": m}}}
    table = metrics_table(content)
    assert table.count("<tr>") == 4  # the header and three rows
    assert "10.00%" in table and "1.00" in table
