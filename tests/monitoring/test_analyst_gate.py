"""The gate on real Market Analyst models trained on the daily graph's slice (3 stocks)."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from agents.market_analyst.registration import AnalystVersion
from agents.market_analyst.serving import MarketAnalystModel
from agents.market_analyst.training import train_market_analyst
from features.names import ANALYST_FEATURES
from features.vectors import analyst_feature_rows
from features.windows import reference_rows, serving_window, serving_window_start, with_dates
from monitoring.analyst_gate import gate_evidence, head_to_head_rows
from monitoring.drift_records import drift_of
from monitoring.promotion import evaluate_gate
from tests.conftest import altered_training_rows

PARAMS = {"n_estimators": 40, "min_child_samples": 40}


class Served:
    """A trained model as the registry would serve it (pyfunc's predict(frame))."""

    def __init__(self, model: MarketAnalystModel) -> None:
        self.model = model

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.model.predict(None, frame)


def version(name, training, market, features, *, cutoff=None, negate=False, shift=None):
    rows = altered_training_rows(training, cutoff=cutoff, backwards=negate, shift=shift)
    result = train_market_analyst(rows, market, min_train_days=150, model_params=PARAMS)
    start = serving_window_start(features)
    return AnalystVersion(
        version=name,
        model=Served(MarketAnalystModel(result.model, result.regime)),
        reference=reference_rows(rows, result.out_of_sample, result.label, before=start),
        out_of_sample=result.out_of_sample,
        trained_through=result.last_date,
        horizon_days=5,
        data_quality="passed",
        run_id="in-memory",
    )


@pytest.fixture(scope="module")
def slice_(daily_graph):
    space, _, _ = daily_graph
    training = pd.read_parquet(space.root / "training" / "market_analyst_v2.parquet")
    market = pd.read_parquet(space.exports / "fct_market_features.parquet")
    market = market.set_index(pd.to_datetime(market["date"]))["market_return_1d"]
    return training, market, analyst_feature_rows(space.export_store)


def test_a_challenger_trained_on_shifted_features_is_refused_for_drift(slice_):
    training, market, features = slice_
    window = serving_window(features)
    champion = version("1", training, market, features, cutoff="2021-12-31")
    shifted = [f for f in ANALYST_FEATURES if not f.endswith("_rank")][:12]
    challenger = version("2", training, market, features, shift=shifted)
    drift = drift_of(challenger, window, training)
    decision = evaluate_gate(gate_evidence(challenger, champion, drift, training))
    assert not decision.promote
    (reason,) = [r for r in decision.reasons if r.startswith("drift:")]
    assert set(drift.drifted_features) >= set(shifted) - set(drift.unmeasured_features)
    assert shifted[0] in reason


def test_the_models_are_compared_only_where_both_are_out_of_sample(slice_):
    training, market, features = slice_
    champion = version("1", training, market, features, cutoff="2021-12-31", negate=True)
    challenger = version("2", training, market, features)
    drift = drift_of(challenger, serving_window(features), training)
    evidence = gate_evidence(challenger, champion, drift, training)
    rows = head_to_head_rows(challenger, champion, training)
    sessions = sorted(with_dates(training)["date"].unique())
    after_cutoff = [d for d in sessions if d > champion.trained_through]
    # Not one day whose label the champion could have seen, nor one the challenger fitted
    # without a walk-forward fold standing before it.
    assert rows["date"].min() == after_cutoff[champion.horizon_days]
    oos = challenger.out_of_sample.set_index(["date", "symbol"])["prediction"]
    assert np.allclose(rows.set_index(["date", "symbol"])["challenger"], oos.loc[
        list(zip(rows["date"], rows["symbol"], strict=True))])  # fmt: skip
    assert evidence.window_days == rows["date"].nunique() >= 20
    decision = evaluate_gate(evidence)
    better = evidence.challenger_metric > evidence.champion_metric
    assert decision.promote == (better and drift.passed)
    assert any(r.startswith("performance:") for r in decision.reasons) == (not better)
    dirty = evaluate_gate(gate_evidence(replace(challenger, data_quality="failed"), champion,
                                        drift, training))  # fmt: skip
    assert not dirty.promote and "data quality of the training data: failed" in dirty.reasons
