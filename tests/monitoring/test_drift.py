"""Evidently drift reports on real prices: what drifts is named, what does not is not."""

import numpy as np
import pandas as pd
import pytest

from monitoring.drift import DriftThresholds, drift_report

FEATURES = ["return_5d", "momentum_21d", "volatility_21d", "volume_ratio"]


@pytest.fixture(scope="module")
def rows(sp500_prices):
    """Per symbol and day, from skfolio's real S&P 500 closes (2012-2016): three features,
    one empty column (these data have no volume), a naive forecast and its 5-day label."""
    prices = sp500_prices[sp500_prices["date"].between("2012-01-01", "2016-12-31")]
    close = prices.pivot(index="date", columns="symbol", values="close")
    daily = close.pct_change()
    frame = pd.DataFrame(
        {
            "return_5d": close.pct_change(5).stack(),
            "momentum_21d": close.pct_change(21).stack(),
            "volatility_21d": daily.rolling(21).std().stack(),
            "target": close.pct_change(5).shift(-5).stack(),
        }
    ).dropna()
    frame["volume_ratio"] = np.nan
    frame["prediction"] = -0.1 * frame["return_5d"]  # short-term reversal
    return frame.reset_index(names=["date", "symbol"])


def test_the_same_distribution_does_not_drift_and_a_shift_is_named(rows, tmp_path):
    reference = rows.sample(frac=0.5, random_state=1)
    current = rows.drop(reference.index).sample(2000, random_state=2)
    calm = drift_report(reference, current, FEATURES, html_path=tmp_path / "calm.html")
    assert calm.drifted_share == 0.0 and calm.passed
    assert calm.unmeasured_features == ["volume_ratio"]
    assert set(calm.feature_scores) == {"return_5d", "momentum_21d", "volatility_21d"}
    assert calm.prediction_score < 0.1 and calm.prediction_drifted is False
    assert (tmp_path / "calm.html").stat().st_size > 10_000
    assert "<html" in (tmp_path / "calm.html").read_text()[:2000].lower()

    shifted = current.copy()
    shifted["volatility_21d"] *= 3  # a volatility regime the model never saw
    report = drift_report(reference, shifted, FEATURES)
    assert report.drifted_features == ["volatility_21d"]
    assert report.drifted_share == pytest.approx(1 / 3) and not report.passed
    assert report.feature_scores["volatility_21d"] > 1.0


def test_accuracy_drift_uses_matured_labels_only(rows):
    reference = rows[rows["date"] < "2016-01-01"]
    current = rows[rows["date"] >= "2016-01-01"].copy()
    recent = current["date"] >= "2016-12-01"
    current.loc[recent, "target"] = np.nan  # labels not matured yet
    summary = drift_report(reference, current, FEATURES)
    assert summary.matured_rows == int((~recent).sum())
    labelled = current[~recent]
    by_day = labelled.groupby("date")[["prediction", "target"]].apply(
        lambda d: d["prediction"].rank().corr(d["target"].rank())
    )
    assert summary.current_rank_ic == pytest.approx(by_day.mean())
    assert summary.reference_rank_ic is not None


def test_thresholds_are_configurable_and_bad_input_is_named(rows):
    reference, current = rows[rows["date"] < "2016-01-01"], rows[rows["date"] >= "2016-01-01"]
    strict = drift_report(reference, current, FEATURES, thresholds=DriftThresholds(0.0001, 0.15))
    assert strict.drifted_share == 1.0
    with pytest.raises(ValueError, match=r"lack feature columns.*current.*momentum_21d"):
        drift_report(reference, current.drop(columns="momentum_21d"), FEATURES)
    with pytest.raises(ValueError, match="rows on both sides"):
        drift_report(reference, current.iloc[:0], FEATURES)


def test_the_reports_headline_gives_the_gates_verdict(rows, tmp_path):
    """Evidently's own headline calls the dataset drifted at Quorum's share (0.15), not at its
    default 0.5: one feature of three drifted is drift for both, none is drift for neither."""
    reference = rows.sample(frac=0.5, random_state=1)
    current = rows.drop(reference.index).sample(2000, random_state=2)
    shifted = current.copy()
    shifted["volatility_21d"] *= 3
    for frame, drifted in ((current, False), (shifted, True)):
        html = tmp_path / f"{drifted}.html"
        summary = drift_report(reference, frame, FEATURES, html_path=html)
        report = summary.report_drift
        assert report["drift_share"] == summary.thresholds.max_drifted_share == 0.15
        assert report["share"] == pytest.approx(summary.drifted_share)
        assert (report["share"] >= report["drift_share"]) is drifted is (not summary.passed)
