"""The daily training's member parameters: the search's choices under the daily budget."""

from assets.training.market_analyst import MarketAnalystTrainingConfig, member_params


def test_the_daily_run_takes_the_searched_parameters_within_its_budget():
    config = MarketAnalystTrainingConfig(sequence_epochs=1, sequence_max_train_rows=40_000)
    searched = {
        "lightgbm": {"n_estimators": 150, "num_leaves": 15},
        "lstm": {"hidden_size": 32, "epochs": 4, "max_train_rows": 60_000},
        "cnn": None,  # never searched
    }
    params = member_params(config, ["lightgbm", "lstm", "transformer", "cnn"], searched)
    assert params["lightgbm"] == {"n_estimators": 150, "num_leaves": 15}
    assert params["lstm"] == {"hidden_size": 32, "epochs": 1, "max_train_rows": 40_000}
    assert params["cnn"] == {"epochs": 1, "max_train_rows": 40_000}
    assert set(params) == {"lightgbm", "lstm", "transformer", "cnn"}
