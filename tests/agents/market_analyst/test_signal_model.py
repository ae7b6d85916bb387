"""The analyst's LightGBM estimator: how many threads it asks LightGBM for."""

import numpy as np
import pandas as pd

from agents.market_analyst.signal_model import SignalModel


def test_lightgbm_threads_follow_openmp_unless_given():
    """None must reach LightGBM as 0 (OpenMP's default, which honours OMP_NUM_THREADS: the
    xdist and Celery workers' share of the cores); its scikit-learn API reads None as every
    physical core, and two fits at once then each spin a pool as wide as the machine."""
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(400, 3)), columns=["a", "b", "c"])
    y = X["a"]
    default = SignalModel(n_estimators=2, min_child_samples=20).fit(X, y)
    assert default.booster_.booster_.params["num_threads"] == 0
    given = SignalModel(n_estimators=2, min_child_samples=20, n_jobs=1).fit(X, y)
    assert given.booster_.booster_.params["num_threads"] == 1
