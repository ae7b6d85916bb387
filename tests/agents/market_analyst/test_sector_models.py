"""A sector's own analyst model against the pooled one: which sectors get a model, the study
on the same folds and rows, its cut-off, and the model registered and loaded back."""

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from agents import model_registry
from agents.market_analyst.sector_models import register_sector_model, sector_study
from agents.market_analyst.sectors import SectorModelError, sector_slug, trainable_sectors
from features.names import ANALYST_FEATURES
from tests.agents.market_analyst.test_search import LABEL, training_set

SECTORS = {"S0": "Alpha One", "S1": "Alpha One", "S2": "Alpha One", "S3": "Alpha One",
           "S4": "Beta", "S5": "Beta", "S6": "Beta", "S7": "Beta"}  # fmt: skip


def opposite_sectors(days: int = 700, seed: int = 1) -> pd.DataFrame:
    """The first feature predicts the label upwards in one sector and downwards in the other:
    a pooled model sees the two cancel, a sector's own model sees its sign."""
    rows = training_set(days=days, symbols=8, seed=seed)
    sign = np.where(rows["symbol"].map(SECTORS) == "Beta", -1.0, 1.0)
    noise = np.random.default_rng(seed + 1).normal(size=len(rows))
    rows[LABEL] = sign * 0.01 * rows[ANALYST_FEATURES[0]] + 0.02 * noise
    rows["forward_excess_return_1d"] = rows[LABEL] / 5
    return rows


def symbols_of(sector: str) -> list[str]:
    return [s for s, name in SECTORS.items() if name == sector]


def test_each_sector_model_finds_what_the_pooled_model_averages_away():
    rows = opposite_sectors()
    for sector in ("Alpha One", "Beta"):
        study = sector_study(rows, sector, symbols_of(sector), n_splits=3, min_train_days=200)
        scores = study.mean_scores()
        assert scores["sector_rank_ic"] > 0.2
        assert scores["sector_rank_ic"] > scores["pooled_rank_ic"] + 0.2
        # both scored on the same rows: the sector's names in each test block
        assert set(study.out_of_sample["symbol"]) == set(symbols_of(sector))
        assert (study.folds["sector_train_rows"] < study.folds["pooled_train_rows"]).all()


def test_a_study_with_an_end_reads_nothing_after_it():
    rows = opposite_sectors()
    end = "2017-06-30"
    study = sector_study(rows, "Beta", symbols_of("Beta"), n_splits=2, min_train_days=150, end=end)
    assert study.last_date < pd.Timestamp(end)  # the last labels that mature by the end
    assert study.folds["test_end"].max() <= pd.Timestamp(end)
    assert study.out_of_sample["date"].max() <= pd.Timestamp(end)


def test_sectors_with_too_few_names_get_no_model_and_clashing_names_are_refused():
    kept, small = trainable_sectors({"A": "Energy", "B": "Energy", "C": "Energy", "D": "Utilities"})
    assert kept == {"Energy": ["A", "B", "C"]}
    assert small == {"Utilities": ["D"]}
    with pytest.raises(SectorModelError, match="Health Care"):
        trainable_sectors({"A": "Health Care", "B": "health-care"}, min_symbols=1)
    assert sector_slug("Consumer Staples & Co.") == "consumer-staples-co"


def test_a_sector_without_rows_for_its_names_is_refused_by_name():
    with pytest.raises(SectorModelError, match=r"Beta.*\['S9'\]"):
        sector_study(opposite_sectors(), "Beta", ["S4", "S9"], n_splits=2, min_train_days=150)


def test_the_registered_sector_model_loads_back_and_forecasts_as_trained(tmp_path):
    study = sector_study(
        opposite_sectors(), "Alpha One", symbols_of("Alpha One"), n_splits=2, min_train_days=150
    )
    model_registry.configure(f"sqlite:///{tmp_path / 'm.db'}", "quorum_test", str(tmp_path / "a"))
    registered = register_sector_model(
        study, params={}, n_splits=2, feature_service="market_analyst_v2"
    )
    assert registered.name == "quorum-market_analyst-sector-alpha-one"
    assert registered.aliases == ("challenger",)  # nothing serves it: never champion
    loaded = mlflow.pyfunc.load_model(f"models:/{registered.name}@challenger")
    served = loaded.predict(study.input_example)
    expected = study.model.predict(None, study.input_example)
    np.testing.assert_allclose(served["expected_return"], expected["expected_return"])
    run = MlflowClient().get_run(registered.run_id)
    assert run.data.tags["sector"] == "Alpha One"
    gain = run.data.metrics["oos_rank_ic_gain_over_pooled"]
    assert gain == pytest.approx(
        study.mean_scores()["sector_rank_ic"] - study.mean_scores()["pooled_rank_ic"]
    )
