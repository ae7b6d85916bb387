"""The sequence members (LSTM, Transformer, CNN): they learn a signal planted in the
windows, train reproducibly, and refuse an unknown architecture."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from agents.market_analyst.sequence_models import ARCHITECTURES, SequenceRegressor
from features.names import SEQUENCE_COLUMNS, SEQUENCE_FEATURES

SMALL = {"hidden_size": 16, "epochs": 6, "batch_size": 128, "learning_rate": 3e-3}


def planted(rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Windows of noise; the label depends on today's first feature and on the second
    feature three days back, so only a model that reads the window finds all of it."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, len(SEQUENCE_COLUMNS))), columns=SEQUENCE_COLUMNS)
    X.iloc[: rows // 10, :40] = np.nan  # short histories: missing early days
    signal = X[f"{SEQUENCE_FEATURES[0]}_lag0"] + 0.7 * X[f"{SEQUENCE_FEATURES[1]}_lag3"]
    y = 0.01 * signal + 0.01 * rng.normal(size=rows)
    return X, y


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_each_architecture_learns_a_signal_planted_in_the_window(architecture):
    X, y = planted(3000, seed=1)
    X_test, y_test = planted(1000, seed=2)
    model = SequenceRegressor(architecture=architecture, **SMALL).fit(X, y)
    forecast = model.predict(X_test)
    assert forecast.shape == (1000,) and np.isfinite(forecast).all()
    assert spearmanr(forecast, y_test).statistic > 0.15  # noise alone: about 0 +- 0.03
    assert model.loss_by_epoch_[-1] < model.loss_by_epoch_[0]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_two_trainings_on_the_same_data_give_the_same_predictions(architecture):
    X, y = planted(1500, seed=4)
    first = SequenceRegressor(architecture=architecture, **SMALL).fit(X, y).predict(X)
    second = SequenceRegressor(architecture=architecture, **SMALL).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, second)
    other_seed = SequenceRegressor(architecture=architecture, random_state=1, **SMALL)
    assert not np.array_equal(first, other_seed.fit(X, y).predict(X))  # the seed matters


def test_a_feature_missing_throughout_enters_as_zero_not_nan():
    X, y = planted(800, seed=5)
    X[[c for c in SEQUENCE_COLUMNS if c.startswith(SEQUENCE_FEATURES[-1] + "_lag")]] = np.nan
    model = SequenceRegressor(architecture="cnn", **SMALL).fit(X, y)
    assert np.isfinite(model.predict(X)).all()


def test_an_unknown_architecture_is_refused_by_name():
    X, y = planted(100, seed=6)
    with pytest.raises(ValueError, match="'gru'"):
        SequenceRegressor(architecture="gru").fit(X, y)
