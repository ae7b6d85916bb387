"""The analyst ensemble: its weights come from out-of-fold predictions only, and it keeps
the signal model's interface (forecasts in return units, calibration, attribution)."""

import numpy as np
import pandas as pd
import pytest

from agents.market_analyst.ensemble import SEQUENCE_FAMILY, SignalEnsemble, weights_from_rank_ic
from agents.market_analyst.training import walk_forward
from agents.market_analyst.walk_forward import PurgedWalkForward
from features.names import ANALYST_INPUTS

LABEL = "forward_excess_return_5d"
MEMBERS = {
    "lightgbm": {"n_estimators": 20, "min_child_samples": 20},
    "cnn": {"hidden_size": 8, "epochs": 1, "batch_size": 256},
}


def synthetic_rows(days: int = 240, symbols: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = np.repeat(pd.bdate_range("2015-01-01", periods=days), symbols)
    rows = pd.DataFrame(rng.normal(size=(len(dates), len(ANALYST_INPUTS))), columns=ANALYST_INPUTS)
    rows.insert(0, "date", dates)
    rows.insert(1, "symbol", np.tile([f"S{i}" for i in range(symbols)], days))
    rows[LABEL] = 0.01 * rows[ANALYST_INPUTS[0]] + 0.02 * rng.normal(size=len(rows))
    rows["forward_excess_return_1d"] = rows[LABEL] / 5
    return rows


@pytest.fixture(scope="module")
def walked():
    rows = synthetic_rows()
    splitter = PurgedWalkForward(n_splits=3, min_train_days=100, purge_days=5, embargo_days=5)
    return rows, splitter, walk_forward(rows, LABEL, MEMBERS, splitter)


def test_each_blocks_weights_come_from_the_members_rank_ic_on_earlier_blocks(walked):
    _, _, (_, folds, member_folds) = walked
    first = folds.iloc[0]
    assert first["weight_lightgbm"] == first["weight_cnn"] == 0.5  # no evidence yet
    for k in range(1, len(folds)):
        earlier = member_folds[member_folds["fold"] < k].groupby("member")["rank_ic"].mean()
        expected = weights_from_rank_ic(earlier.reindex(list(MEMBERS)).to_dict())
        for member, weight in expected.items():
            assert folds.iloc[k][f"weight_{member}"] == pytest.approx(weight)


def test_a_blocks_own_outcomes_never_move_its_weights(walked):
    rows, splitter, (_, folds, _) = walked
    last_block = rows["date"] >= folds.iloc[-1]["test_start"]
    shuffled = rows.copy()
    shuffled.loc[last_block, LABEL] = -shuffled.loc[last_block, LABEL]  # the opposite outcome
    _, refolds, _ = walk_forward(shuffled, LABEL, MEMBERS, splitter)
    weights = [c for c in folds if c.startswith("weight_")]
    pd.testing.assert_series_equal(folds.iloc[-1][weights], refolds.iloc[-1][weights])
    assert refolds.iloc[-1]["rank_ic"] != pytest.approx(folds.iloc[-1]["rank_ic"])  # can fail


def test_the_ensemble_forecast_is_the_weighted_mean_of_its_members(walked):
    _, _, (oos, folds, _) = walked
    last = oos[oos["fold"] == folds.iloc[-1]["fold"]]
    w = folds.iloc[-1]
    expected = (
        w["weight_lightgbm"] * last["prediction_lightgbm"]
        + w["weight_cnn"] * last["prediction_cnn"]
    )
    np.testing.assert_allclose(last["prediction"], expected)


def test_weights_keep_only_positive_evidence_and_fall_back_to_equal():
    assert weights_from_rank_ic({"a": 0.03, "b": 0.01, "c": -0.02}) == pytest.approx(
        {"a": 0.75, "b": 0.25, "c": 0.0}
    )
    assert weights_from_rank_ic({"a": -0.01, "b": float("nan")}) == {"a": 0.5, "b": 0.5}


class _Constant:
    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, X):
        return np.full(len(X), self.value)


def test_a_zero_weight_member_is_not_even_scored_and_attribution_sums_to_one():
    ensemble = SignalEnsemble({"up": _Constant(0.01), "down": _Constant(-0.05)}, {"up": 1.0})
    X = pd.DataFrame(np.zeros((3, 2)))
    np.testing.assert_allclose(ensemble.predict(X), 0.01)
    assert list(ensemble.member_predictions(X).columns) == ["up"]
    shares = ensemble.attribution(X)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert (shares[SEQUENCE_FAMILY] == 1.0).all()  # no tree member: all from the others
    with pytest.raises(ValueError, match="ghost"):
        SignalEnsemble({"up": _Constant(0.0)}, {"ghost": 1.0})


def test_a_member_trained_on_recent_folds_only_has_no_forecast_or_weight_before_them():
    rows = synthetic_rows()
    splitter = PurgedWalkForward(n_splits=3, min_train_days=100, purge_days=5, embargo_days=5)
    oos, folds, member_folds = walk_forward(rows, LABEL, MEMBERS, splitter, recent_folds={"cnn": 1})
    assert set(member_folds[member_folds["member"] == "cnn"]["fold"]) == {2}
    assert oos.loc[oos["fold"] < 2, "prediction_cnn"].isna().all()
    assert oos.loc[oos["fold"] == 2, "prediction_cnn"].notna().all()
    # its first fold: no evidence yet, so no weight while LightGBM has positive evidence
    assert folds.iloc[2]["weight_cnn"] == 0.0 and folds.iloc[2]["weight_lightgbm"] == 1.0
    assert folds.iloc[0]["weight_lightgbm"] == 1.0  # alone in the early folds
