"""The bootstrap gate: a first version with no champion to beat must still show skill out
of sample (a significant positive daily rank IC of its own walk-forward forecasts), an
undrifted serving window and checked training data."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from monitoring.bootstrap_gate import (
    bootstrap_evidence,
    bootstrap_reason,
    daily_rank_ic,
    evaluate_bootstrap,
)

NAMES = [f"S{i:02d}" for i in range(20)]


def version(skill: float, days: int = 120, seed: int = 0, data_quality: str = "passed"):
    """Walk-forward forecasts that know ``skill`` of each day's label, and the labels."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-02", periods=days)
    label = rng.normal(0, 0.02, (days, len(NAMES)))
    forecast = skill * label + rng.normal(0, 0.02, label.shape)
    index = pd.MultiIndex.from_product([dates, NAMES], names=["date", "symbol"])
    oos = pd.DataFrame({"prediction": forecast.ravel()}, index=index).reset_index()
    labels = pd.DataFrame({"forward_excess_return_5d": label.ravel()}, index=index).reset_index()
    labels["event_timestamp"] = labels.pop("date").dt.tz_localize("UTC")
    analyst = SimpleNamespace(out_of_sample=oos, horizon_days=5, data_quality=data_quality)
    return analyst, labels


def drift(share: float = 0.05):
    return SimpleNamespace(drifted_share=share, drifted_features=["rsi_14"] if share else [])


def test_each_day_is_scored_by_its_own_rank_ic():
    analyst, labels = version(skill=1.0)
    ics = daily_rank_ic(analyst, labels)
    assert len(ics) == 120 and ics.mean() > 0.5


def test_a_version_with_skill_undrifted_and_checked_becomes_champion():
    analyst, labels = version(skill=0.3)
    decision = evaluate_bootstrap(bootstrap_evidence(analyst, drift(), labels))
    assert decision.promote and decision.evidence.p_value < 0.05
    assert bootstrap_reason(decision).startswith("bootstrap gate passed")


@pytest.mark.parametrize(
    ("skill", "share", "quality", "reason"),
    [
        # No skill: on this draw p = 0.22 (a 5% test lets one no-skill version in twenty by).
        (0.0, 0.05, "passed", "out of sample"),
        (-0.3, 0.05, "passed", "out of sample"),  # skill backwards
        (0.3, 0.30, "passed", "drift"),
        (0.3, float("nan"), "passed", "drift"),  # never measured counts as drifted
        (0.3, 0.05, "not_evaluated", "data quality"),
    ],
)
def test_every_failing_check_refuses_the_first_version_and_says_which(
    skill, share, quality, reason
):
    analyst, labels = version(skill=skill, seed=3, data_quality=quality)
    decision = evaluate_bootstrap(bootstrap_evidence(analyst, drift(share), labels))
    assert not decision.promote
    assert [r for r in decision.reasons if r.startswith(reason)]
    assert bootstrap_reason(decision).startswith("bootstrap gate: ")


def test_too_few_days_of_forecasts_cannot_be_judged():
    analyst, labels = version(skill=1.0, days=10)
    decision = evaluate_bootstrap(bootstrap_evidence(analyst, drift(), labels))
    assert (
        not decision.promote
        and "10 days" in decision.reasons[0]
        and "need 20" in decision.reasons[0]
    )
