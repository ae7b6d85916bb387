"""The Market Analyst: walk-forward validation, the signal model, regimes, messages, MLflow."""

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from pydantic import ValidationError

from agents import model_registry
from agents.market_analyst.agent import MarketAnalyst, SignalPolicy
from agents.market_analyst.evaluation import forecast_metrics
from agents.market_analyst.names import LIGHTGBM
from agents.market_analyst.regime import RegimeModel
from agents.market_analyst.registration import SERVING_PACKAGES
from agents.market_analyst.serving import MarketAnalystModel
from agents.market_analyst.training import labelled_rows, train_market_analyst, walk_forward
from agents.market_analyst.walk_forward import PurgedWalkForward
from agents.messages import Envelope, MessageType, RiskAssessment, TradingSignal, envelope
from features.names import ANALYST_FEATURES, ANALYST_INPUTS, SEQUENCE_COLUMNS
from features.sequences import with_sequence_windows
from features.training import build_training_set, label_rows

SMALL_MODEL = {"n_estimators": 60, "min_child_samples": 50}


@pytest.fixture(scope="module")
def analyst_inputs(daily_graph):
    space, _, store = daily_graph
    data = build_training_set(store, "market_analyst_v2", label_rows(space.export_store))
    market = pd.read_parquet(space.exports / "fct_market_features.parquet")
    returns = market.set_index(pd.to_datetime(market["date"]))["market_return_1d"]
    return data, returns


@pytest.fixture(scope="module")
def trained(analyst_inputs):
    data, returns = analyst_inputs
    return train_market_analyst(
        data, returns, horizon_days=5, n_splits=2, min_train_days=250, model_params=SMALL_MODEL
    )


def test_walk_forward_trains_only_on_the_past_minus_purge_and_embargo():
    dates = pd.Series(pd.bdate_range("2020-01-01", periods=400)).repeat(3).reset_index(drop=True)
    days = np.sort(dates.unique())
    folds = list(
        PurgedWalkForward(n_splits=3, min_train_days=100, purge_days=5, embargo_days=7).split(dates)
    )
    assert len(folds) == 3
    for number, fold in enumerate(folds):
        train_days = np.unique(dates.iloc[fold.train_index])
        first_test = np.searchsorted(days, fold.test_start.to_datetime64())
        assert train_days.max() < days[first_test - 5]  # purged: 5 days before the test
        assert not set(fold.train_index) & set(fold.test_index)
        for earlier in folds[:number]:  # embargo: 7 days after each earlier test block
            end = np.searchsorted(days, earlier.test_end.to_datetime64())
            assert not set(days[end + 1 : end + 8]) & set(train_days)
    covered = np.concatenate([f.test_index for f in folds])
    assert dates.iloc[covered].min() == days[100]


def test_forecast_metrics_score_a_perfect_and_an_inverted_forecast(analyst_inputs):
    data, _ = analyst_inputs
    frame = pd.DataFrame(
        {
            "date": data["event_timestamp"],
            "realized": data["forward_excess_return_5d"],
            "realized_1d": data["forward_excess_return_1d"],
        }
    ).dropna()
    perfect = forecast_metrics(frame.assign(prediction=frame["realized"]))
    inverted = forecast_metrics(frame.assign(prediction=-frame["realized"]))
    assert perfect["rank_ic"] == pytest.approx(1.0) and perfect["hit_rate"] == pytest.approx(1.0)
    assert inverted["rank_ic"] == pytest.approx(-1.0) and inverted["auc"] < 0.01
    assert perfect["rmse"] == 0.0 and perfect["long_short_sharpe"] > 0


def test_training_scores_each_fold_only_on_dates_it_never_trained_on(trained):
    folds = trained.folds
    assert len(folds) == 2 and (folds["rows"] > 0).all()
    oos = trained.out_of_sample
    for _, fold in folds.iterrows():
        scored = oos[oos["fold"] == fold["fold"]]
        assert scored["date"].min() == fold["test_start"]
        assert scored["date"].max() == fold["test_end"]
    for metric in ("ic", "rank_ic", "hit_rate", "auc", "rmse", "long_short_sharpe"):
        assert np.isfinite(trained.latest_fold[metric]), metric


def test_a_lightgbm_only_training_skips_the_windows_and_forecasts_the_same(trained, analyst_inputs):
    data, _ = analyst_inputs
    label = trained.label
    plain = labelled_rows(data, label, windows=False)
    windowed = labelled_rows(data, label)
    assert not set(SEQUENCE_COLUMNS) & set(plain) and set(SEQUENCE_COLUMNS) <= set(windowed)
    pd.testing.assert_frame_equal(plain, windowed[plain.columns])  # same rows, same order
    splitter = PurgedWalkForward(
        n_splits=2, min_train_days=trained.min_train_days, purge_days=5, embargo_days=5
    )
    members = {LIGHTGBM: SMALL_MODEL}
    with_windows, _, _ = walk_forward(windowed, label, members, splitter)
    pd.testing.assert_frame_equal(trained.out_of_sample, with_windows)


def test_confidence_is_a_calibrated_probability_rising_with_the_forecast(trained, analyst_inputs):
    data, _ = analyst_inputs
    forecast = trained.model.predict(data[ANALYST_FEATURES])
    confidence = trained.model.confidence(forecast)
    assert ((confidence >= 0) & (confidence <= 1)).all()
    order = np.argsort(np.abs(forecast))
    assert (np.diff(confidence[order]) >= -1e-12).all()
    # Calibrated on out-of-sample forecasts: the mean confidence matches the hit rate there.
    oos = trained.out_of_sample
    mean_confidence = trained.model.confidence(oos["prediction"].to_numpy()).mean()
    hit = (np.sign(oos["prediction"]) == np.sign(oos["realized"])).mean()
    assert mean_confidence == pytest.approx(hit, abs=1e-6)


def test_attribution_splits_each_forecast_into_family_shares(trained, analyst_inputs):
    data, _ = analyst_inputs
    shares = trained.model.attribution(data[ANALYST_FEATURES].head(50))
    assert list(shares.columns) == ["technical", "volatility", "market", "sequence"]
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert (shares >= 0).all().all()
    assert (shares["sequence"] == 0).all()  # LightGBM alone: no sequence member's share


def test_regimes_mark_the_2008_crash_stressed_without_reading_the_future(sp500_prices):
    index = sp500_prices[sp500_prices["symbol"] == "SP500"].set_index("date")["close"]
    returns = index.pct_change().dropna()
    model = RegimeModel().fit(returns[:"2012-12-31"])
    assert model.daily_vol_[0] < model.daily_vol_[1] < model.daily_vol_[2]
    labels = model.label(returns["2005-01-01":"2012-12-31"])
    assert (labels["2008-10-01":"2008-11-30"] == "stressed").mean() > 0.8
    assert (labels["2006-01-01":"2006-12-31"] == "stressed").mean() < 0.05
    altered = returns["2005-01-01":"2012-12-31"].copy()
    altered["2009-01-01":] *= 3
    pd.testing.assert_series_equal(model.label(altered)[:"2008-12-31"], labels[:"2008-12-31"])


def test_the_regime_fit_keeps_statsmodels_maximum_likelihood_parameters(sp500_prices):
    """The fit asks statsmodels for the parameters alone (no smoothing, no covariance of the
    estimates): they are the ones its full results object carries."""
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    index = sp500_prices[sp500_prices["symbol"] == "SP500"].set_index("date")["close"]
    returns = index.pct_change().dropna()["2010-01-01":"2012-12-31"]
    model = RegimeModel().fit(returns)
    full = MarkovRegression(
        returns.to_numpy() * 100, k_regimes=3, trend="c", switching_variance=True
    ).fit(disp=False, search_reps=0, maxiter=500)
    np.testing.assert_array_equal(model.params_, np.asarray(full.params))


def test_the_latest_label_filters_only_new_days_and_labels_as_the_whole_history(sp500_prices):
    """A backtest asks for the regime at every session on a history one session longer: each
    answer continues the filter from the last call's day, and is the label of filtering the
    whole history again; a history that does not extend the last one is filtered anew."""
    index = sp500_prices[sp500_prices["symbol"] == "SP500"].set_index("date")["close"]
    returns = index.pct_change().dropna()[:"2018-12-31"]
    model = RegimeModel().fit(returns[:"2004-12-31"].tail(2520))
    ends = list(range(3000, len(returns), 7))
    incremental = [model.latest_label(returns.iloc[:end]) for end in ends]
    assert len(model._filtered.endog) == ends[-1]  # it went on from the previous call
    whole = model.label(returns)
    assert incremental == [whole.iloc[end - 1] for end in ends]
    assert {"calm", "normal", "stressed"} <= set(incremental)
    # A sequence that is not an extension (an earlier day, an altered past): filtered anew.
    assert model.latest_label(returns.iloc[:3000]) == whole.iloc[2999]
    altered = returns.copy()
    altered.iloc[:100] *= 5
    assert model.latest_label(altered) == model.label(altered).iloc[-1]
    assert len(model._filtered.endog) == len(returns)


def test_the_continued_filter_keeps_statsmodels_probabilities(sp500_prices):
    """Continuing from a day's filtered probabilities gives, day by day, the probabilities of
    filtering the whole history (the same recursion; only rounding may differ)."""
    index = sp500_prices[sp500_prices["symbol"] == "SP500"].set_index("date")["close"]
    returns = index.pct_change().dropna()[:"2018-12-31"]
    model = RegimeModel().fit(returns[:"2004-12-31"].tail(2520))
    endog = returns.to_numpy() * 100
    whole = model._filter(endog)
    for start in (1, 3000, 4000, 5000):  # calm, normal and stressed days among them
        for days in (1, 5, 250):
            continued = model._filter_on(endog[start : start + days], whole[start - 1])
            np.testing.assert_allclose(continued, whole[start + days - 1], rtol=0, atol=1e-12)


def test_a_pickled_regime_model_carries_no_filter_state(sp500_prices):
    import pickle

    index = sp500_prices[sp500_prices["symbol"] == "SP500"].set_index("date")["close"]
    returns = index.pct_change().dropna()[:"2012-12-31"]
    model = RegimeModel().fit(returns.tail(1000))
    label = model.latest_label(returns)
    copy = pickle.loads(pickle.dumps(model))
    assert copy._filtered is None and model._filtered is not None
    assert copy.latest_label(returns) == label
    np.testing.assert_array_equal(copy.params_, model.params_)


def test_signals_follow_the_policy_and_refuse_symbols_without_data(trained, analyst_inputs):
    data, _ = analyst_inputs
    latest = data[data["event_timestamp"] == data["event_timestamp"].max()]
    features = latest.set_index("symbol")[ANALYST_FEATURES]
    features.loc["NODATA"] = np.nan
    forecast = trained.model.predict(features)
    bar = float(np.median(np.abs(forecast[:-1])))
    analyst = MarketAnalyst(
        trained.model, SignalPolicy(min_expected_return=bar, min_confidence=0.0)
    )
    now = datetime(2022, 12, 28, 21, tzinfo=UTC)
    normal = {v.symbol: v for v in analyst.views(features, "normal")}
    stressed = {v.symbol: v for v in analyst.views(features, "stressed")}
    assert normal["NODATA"].signal == "HOLD" and normal["NODATA"].confidence == 0.0
    for symbol, er in zip(features.index[:-1], forecast[:-1], strict=True):
        expected = "HOLD" if abs(er) < bar else ("BUY" if er > 0 else "SELL")
        assert normal[symbol].signal == expected
        if bar <= abs(er) < 2 * bar:  # the stressed regime doubles the bar
            assert stressed[symbol].signal == "HOLD"
    message = analyst.signals(features, "calm", now, "replay-20221228T2100Z", "7")[0]
    assert message.message_type == MessageType.TRADING_SIGNAL
    assert message.agent_id == "market_analyst_001" and message.timestamp == now
    assert message.cycle_id == "replay-20221228T2100Z" and message.model_version == "7"


def test_messages_are_validated_at_the_boundary():
    now = datetime.now(UTC)
    good = TradingSignal(
        symbol="AAPL",
        signal="BUY",
        confidence=0.8,
        expected_return=0.01,
        attribution={"technical": 0.6, "volatility": 0.3, "market": 0.1},
    )
    assert envelope("market_analyst_001", good, cycle_id="c1").schema_version == 2
    with pytest.raises(ValidationError, match="cycle_id is required"):
        Envelope(agent_id="x", timestamp=now, message_type="trading_signal", payload=good)
    with pytest.raises(ValidationError, match="sum to"):
        TradingSignal(
            symbol="A",
            signal="BUY",
            confidence=0.5,
            expected_return=0.0,
            attribution={"technical": 0.6},
        )
    with pytest.raises(ValidationError):
        TradingSignal(symbol="A", signal="STRONG_BUY", confidence=0.5, expected_return=0.0)
    with pytest.raises(ValidationError, match="must say why"):
        RiskAssessment(portfolio_var=0.02, portfolio_es=0.03, risk_approval=False)
    with pytest.raises(ValidationError, match="does not fit"):
        Envelope(agent_id="x", timestamp=now, message_type="risk_assessment", payload=good)
    with pytest.raises(ValidationError):
        Envelope(
            agent_id="x",
            timestamp=datetime(2025, 1, 1),
            message_type="trading_signal",
            payload=good,
        )  # naive timestamps are refused


def test_registry_bootstraps_the_first_champion_and_later_versions_are_challengers(
    trained, analyst_inputs, tmp_path
):
    data, _ = analyst_inputs
    model_registry.configure(
        f"sqlite:///{tmp_path / 'mlflow.db'}", "quorum_test", str(tmp_path / "artifacts")
    )
    example = with_sequence_windows(data)[ANALYST_INPUTS].head(3).reset_index(drop=True)
    python_model = MarketAnalystModel(trained.model, trained.regime)
    output = python_model.predict(None, example)
    first = model_registry.log_and_register(
        "market_analyst",
        python_model,
        params={"n": 1},
        metrics={"rank_ic": 0.01},
        tags={"feature_service": "market_analyst_v2"},
        input_example=example,
        output_example=output,
        pip_requirements=model_registry.installed_requirements(SERVING_PACKAGES),
    )
    second = model_registry.log_and_register(
        "market_analyst",
        python_model,
        params={"n": 2},
        metrics={"rank_ic": 0.02},
        tags={"feature_service": "market_analyst_v2"},
        input_example=example,
        output_example=output,
        pip_requirements=model_registry.installed_requirements(SERVING_PACKAGES),
    )
    assert first.aliases == ("challenger", "champion") and second.aliases == ("challenger",)
    client = MlflowClient()
    assert (
        str(client.get_model_version_by_alias("quorum-market_analyst", "champion").version) == "1"
    )
    champion = client.get_model_version_by_alias("quorum-market_analyst", "challenger")
    assert str(champion.version) == "2"
    assert (
        "bootstrap"
        in client.get_model_version("quorum-market_analyst", "1").tags["champion_bootstrap"]
    )
    loaded = model_registry.load("market_analyst", "champion")
    pd.testing.assert_frame_equal(loaded.predict(example), output, check_dtype=False)
