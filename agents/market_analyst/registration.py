"""Registering the Market Analyst in MLflow with what its gate needs later (its drift
reference, its walk-forward forecasts, the last labelled day, its training data's quality),
and loading a registered version back. No Dagster import, no monitoring import.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient

from agents import model_registry
from agents.market_analyst.member_logging import log_members
from agents.market_analyst.names import AGENT
from agents.market_analyst.serving import MarketAnalystModel
from agents.market_analyst.training import AnalystTraining
from agents.model_registry import DATA_QUALITY_TAG, RegisteredVersion, model_name
from features.names import ANALYST_INPUTS
from features.sequences import with_sequence_windows
from features.windows import reference_rows, serving_window_start

REFERENCE_ARTIFACT = "drift_reference.parquet"
OUT_OF_SAMPLE_ARTIFACT = "out_of_sample.parquet"
# What the served ensemble imports (its members, calibration, regime model, frames).
SERVING_PACKAGES = [
    "mlflow", "cloudpickle", "numpy", "pandas", "scipy", "scikit-learn", "lightgbm", "torch",
    "statsmodels",
]  # fmt: skip


def register_analyst(
    result: AnalystTraining,
    training_rows: pd.DataFrame,
    feature_rows: pd.DataFrame,
    *,
    feature_service: str,
    horizon_days: int,
    n_splits: int,
    data_quality: str,
    quality_notes: Sequence[str] = (),
    first_is_champion: bool = True,
) -> tuple[RegisteredVersion, pd.DataFrame]:
    """Logs a trained Market Analyst to MLflow with what the gate will need of it (its drift
    reference, its walk-forward forecasts, the last labelled day, its training data's quality)
    and registers it as the challenger (``first_is_champion`` False: even the first version,
    which then waits for the bootstrap gate). ``feature_rows``: the served feature rows, the
    serving window's at least (the drift reference ends where it starts). Returns the
    version and its drift reference."""
    latest = result.latest_fold
    overall = result.folds.drop(columns=["fold", "test_start", "test_end"]).mean().to_dict()
    metrics = {
        f"oos_latest_{k}": float(v)
        for k, v in latest.items()
        if k not in ("fold", "test_start", "test_end")
    }
    metrics |= {f"oos_mean_{k}": float(v) for k, v in overall.items()}
    by_member = result.member_folds.groupby("member")[["rank_ic", "hit_rate", "long_short_sharpe"]]
    metrics |= {
        f"member_{member}_oos_mean_{k}": float(v)
        for member, row in by_member.mean().iterrows()
        for k, v in row.items()
    }
    # The signature's example, the last five rows: their windows need their symbols' rows
    # alone, not every symbol's windows over the whole history (seconds).
    symbols = training_rows["symbol"].tail(5)
    example_rows = with_sequence_windows(training_rows[training_rows["symbol"].isin(symbols)])
    example = example_rows[ANALYST_INPUTS].tail(5).reset_index(drop=True)
    python_model = MarketAnalystModel(result.model, result.regime)
    # The drift reference ends where today's serving window starts, so they never overlap.
    start = serving_window_start(feature_rows)
    reference = reference_rows(training_rows, result.out_of_sample, result.label, before=start)
    with tempfile.TemporaryDirectory(prefix="analyst-artifacts-") as staging:
        paths = {
            REFERENCE_ARTIFACT: Path(staging) / REFERENCE_ARTIFACT,
            OUT_OF_SAMPLE_ARTIFACT: Path(staging) / OUT_OF_SAMPLE_ARTIFACT,
        }
        reference.to_parquet(paths[REFERENCE_ARTIFACT], index=False)
        result.out_of_sample.to_parquet(paths[OUT_OF_SAMPLE_ARTIFACT], index=False)
        registered = model_registry.log_and_register(
            AGENT,
            python_model,
            params={
                **{f"{m}.{k}": v for m, p in result.member_params.items() for k, v in p.items()},
                **{f"weight.{m}": w for m, w in result.model.weights.items()},
                "horizon_days": horizon_days,
                "n_splits": n_splits,
                "min_train_days": result.min_train_days,
                "label": result.label,
            },
            metrics=metrics,
            tags={
                "feature_service": feature_service,
                "data_first_date": str(result.first_date.date()),
                "data_last_date": str(result.last_date.date()),
                "latest_fold_test": f"{latest['test_start'].date()}..{latest['test_end'].date()}",
                "drift_reference": (
                    f"{reference['date'].min().date()}..{reference['date'].max().date()}"
                ),
            },
            version_tags={
                DATA_QUALITY_TAG: data_quality,
                "data_quality_notes": "; ".join(quality_notes) or "none",
            },
            input_example=example,
            output_example=python_model.predict(None, example),
            artifacts={name: str(path) for name, path in paths.items()},
            log_members=lambda: log_members(result.model, result.member_folds, example),
            pip_requirements=model_registry.installed_requirements(SERVING_PACKAGES),
            first_is_champion=first_is_champion,
        )
    return registered, reference


@dataclass(frozen=True)
class AnalystVersion:
    """A registered Market Analyst version with what the gate needs from MLflow."""

    version: str
    model: mlflow.pyfunc.PyFuncModel
    reference: pd.DataFrame
    out_of_sample: pd.DataFrame
    trained_through: pd.Timestamp  # last labelled day of its training data
    horizon_days: int
    data_quality: str
    run_id: str

    def predict(self, rows: pd.DataFrame) -> pd.Series:
        """``rows``: the ANALYST_INPUTS (features and their windows, features/sequences.py)."""
        return pd.Series(
            self.model.predict(rows[ANALYST_INPUTS])["expected_return"].to_numpy(),
            index=rows.index,
        )


def load_analyst_version(client: MlflowClient, version: str) -> AnalystVersion:
    mv = client.get_model_version(model_name(AGENT), version)
    run = client.get_run(mv.run_id)
    with tempfile.TemporaryDirectory() as tmp:
        frames = {
            name: pd.read_parquet(
                mlflow.artifacts.download_artifacts(
                    run_id=mv.run_id, artifact_path=name, dst_path=tmp
                )
            )
            for name in (REFERENCE_ARTIFACT, OUT_OF_SAMPLE_ARTIFACT)
        }
    return AnalystVersion(
        version=str(version),
        model=model_registry.load_uri(f"models:/{model_name(AGENT)}/{version}"),
        reference=frames[REFERENCE_ARTIFACT],
        out_of_sample=frames[OUT_OF_SAMPLE_ARTIFACT],
        trained_through=pd.Timestamp(run.data.tags["data_last_date"]),
        horizon_days=int(run.data.params["horizon_days"]),
        data_quality=mv.tags.get(DATA_QUALITY_TAG, "not_evaluated"),
        run_id=mv.run_id,
    )
