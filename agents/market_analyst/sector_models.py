"""One analyst model per sector, and whether it beats the pooled model on that sector's names.

A pooled model learns from every name; a sector's own model from that sector's names only.
On each purged walk-forward fold both are trained on the same days and scored on the same
rows (the sector's names in the fold's test block), so the comparison is out of sample and
like for like. LightGBM alone: the sequence members need far more rows than one sector has.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from agents import model_registry
from agents.market_analyst.evaluation import forecast_metrics
from agents.market_analyst.sectors import SectorModelError, sector_slug
from agents.market_analyst.serving import MarketAnalystModel
from agents.market_analyst.signal_model import SignalModel
from agents.market_analyst.training import (
    label_splitter,
    labelled_rows,
    matured_rows,
    scoring_frame,
)
from agents.model_registry import RegisteredVersion
from features.names import ANALYST_FEATURES

SCORES = ("rank_ic", "ic", "hit_rate", "long_short_sharpe")
MODELS = ("sector", "pooled")
# What a served sector model imports.
SERVING_PACKAGES = ["mlflow", "cloudpickle", "numpy", "pandas", "scikit-learn", "lightgbm"]


class SectorAnalystModel(MarketAnalystModel):
    """A sector's calibrated LightGBM served like the analyst, on the features alone (it reads
    no sequence windows) and without a regime model (the market's regime is the pooled
    analyst's)."""

    inputs = ANALYST_FEATURES

    def __init__(self, model: SignalModel) -> None:
        super().__init__(model, regime=None)


@dataclass(frozen=True)
class SectorStudy:
    sector: str
    symbols: tuple[str, ...]
    folds: pd.DataFrame  # per fold: test period, rows, each model's out-of-sample scores
    out_of_sample: pd.DataFrame  # date, symbol, realized, each model's forecast, fold
    model: SectorAnalystModel  # fitted on every labelled row of the sector, calibrated
    input_example: pd.DataFrame  # the sector's last rows of features
    label: str
    first_date: pd.Timestamp
    last_date: pd.Timestamp

    def mean_scores(self) -> dict[str, float]:
        """Each model's mean out-of-sample score over the folds: ``sector_rank_ic`` ..."""
        return {f"{m}_{s}": float(self.folds[f"{m}_{s}"].mean()) for m in MODELS for s in SCORES}


def sector_study(
    training_set: pd.DataFrame,
    sector: str,
    symbols: Sequence[str],
    *,
    params: dict | None = None,
    horizon_days: int = 5,
    n_splits: int = 5,
    min_train_days: int = 1260,
    end: str | None = None,
) -> SectorStudy:
    """The sector's own LightGBM against the pooled one, fold by fold, on the sector's rows;
    then the sector's model fitted on all its rows. ``end``: the last day read (labels that
    mature after it dropped too), for a study that must not see later data."""
    label = f"forward_excess_return_{horizon_days}d"
    data = labelled_rows(training_set, label, windows=False)
    if end is not None:
        data = matured_rows(data, end, horizon_days)
    present = set(data["symbol"])
    missing = sorted(set(symbols) - present)
    if missing:
        raise SectorModelError(f"sector {sector!r}: no labelled rows for {missing}")
    splitter = label_splitter(data, n_splits, min_train_days, horizon_days)
    X, y = data[ANALYST_FEATURES], data[label]
    in_sector = data["symbol"].isin(symbols).to_numpy()
    oos, rows = [], []
    for fold in splitter.split(data["date"]):
        test_index = fold.test_index[in_sector[fold.test_index]]
        test = data.iloc[test_index]
        scored = scoring_frame(test, label, fold.number)
        train = {
            "sector": fold.train_index[in_sector[fold.train_index]],
            "pooled": fold.train_index,
        }
        row = {"fold": fold.number, "test_start": fold.test_start, "test_end": fold.test_end,
               "test_rows": len(test_index)}  # fmt: skip
        for name in MODELS:
            model = SignalModel(**(params or {})).fit(X.iloc[train[name]], y.iloc[train[name]])
            scored[f"prediction_{name}"] = model.predict(X.iloc[test_index])
            metrics = forecast_metrics(scored, prediction=f"prediction_{name}")
            row |= {f"{name}_train_rows": len(train[name])}
            row |= {f"{name}_{score}": metrics[score] for score in SCORES}
        oos.append(scored)
        rows.append(row)
    out_of_sample = pd.concat(oos, ignore_index=True)
    final = SignalModel(**(params or {})).fit(X[in_sector], y[in_sector])
    final.calibrate(
        out_of_sample["prediction_sector"].to_numpy(), out_of_sample["realized"].to_numpy()
    )
    sector_dates = data.loc[in_sector, "date"]
    return SectorStudy(
        sector=sector,
        symbols=tuple(sorted(symbols)),
        folds=pd.DataFrame(rows),
        out_of_sample=out_of_sample,
        model=SectorAnalystModel(final),
        input_example=X[in_sector].tail(5).reset_index(drop=True),
        label=label,
        first_date=sector_dates.min(),
        last_date=sector_dates.max(),
    )


def sector_agent(sector: str) -> str:
    """The registry's agent name of a sector's model: quorum-market_analyst-sector-<slug>."""
    return f"market_analyst-sector-{sector_slug(sector)}"


def register_sector_model(
    study: SectorStudy, *, params: dict, n_splits: int, feature_service: str
) -> RegisteredVersion:
    """One MLflow run with the study's out-of-sample scores (the sector's model and the
    pooled one on the same rows), its forecasts and names as artifacts; the model registered
    as a challenger, never champion: nothing serves it yet."""
    scores = study.mean_scores()
    metrics = {f"oos_mean_{k}": v for k, v in scores.items()}
    metrics["oos_rank_ic_gain_over_pooled"] = scores["sector_rank_ic"] - scores["pooled_rank_ic"]
    with tempfile.TemporaryDirectory(prefix="sector-artifacts-") as staging:
        paths = {
            "symbols": Path(staging) / "symbols.txt",
            "oos": Path(staging) / "out_of_sample.parquet",
        }
        paths["symbols"].write_text("\n".join(study.symbols) + "\n")
        study.out_of_sample.to_parquet(paths["oos"], index=False)
        return model_registry.log_and_register(
            sector_agent(study.sector),
            study.model,
            params={
                **{f"lightgbm.{k}": v for k, v in params.items()},
                "n_splits": n_splits,
                "label": study.label,
                "symbols": len(study.symbols),
            },
            metrics=metrics,
            tags={
                "sector": study.sector,
                "feature_service": feature_service,
                "data_first_date": str(study.first_date.date()),
                "data_last_date": str(study.last_date.date()),
                "served": "no: the desk trades the pooled market_analyst",
            },
            version_tags={"sector": study.sector},
            input_example=study.input_example,
            output_example=study.model.predict(None, study.input_example),
            artifacts={name: str(path) for name, path in paths.items()},
            pip_requirements=model_registry.installed_requirements(SERVING_PACKAGES),
            first_is_champion=False,
        )
