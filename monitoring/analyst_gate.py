"""The Market Analyst's evidence for the promotion gate: its drift reference, the serving
window, and the head-to-head of challenger and champion out of sample.

Windows, in sessions of the feature exports:

    ... reference (504 sessions) | serving window (the last 63 sessions) |

The reference is what the model was trained and walk-forward scored on (features, its
out-of-sample prediction, the realised label), ending where the serving window starts, so
the two never overlap. It is built at training time and logged with the model version; the
gate and the drift sensor compare later serving windows with it.

No Dagster import.
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
from agents.market_analyst.serving import MarketAnalystModel
from agents.market_analyst.training import AnalystTraining
from agents.model_registry import RegisteredVersion, model_name
from features.definitions import ANALYST_FEATURES
from monitoring.drift import (
    PREDICTION,
    TARGET,
    DriftSummary,
    DriftThresholds,
    calibrated_column_thresholds,
    drift_report,
)
from monitoring.promotion import DATA_QUALITY_TAG, GateEvidence, head_to_head

AGENT = "market_analyst"
REFERENCE_ARTIFACT = "drift_reference.parquet"
OUT_OF_SAMPLE_ARTIFACT = "out_of_sample.parquet"
SERVING_WINDOW_SESSIONS = 63
REFERENCE_SESSIONS = 504
MAX_REFERENCE_ROWS = 20_000


def with_dates(rows: pd.DataFrame) -> pd.DataFrame:
    """Adds ``date`` (the session, naive) from ``event_timestamp``."""
    out = rows.copy()
    out["date"] = pd.to_datetime(out["event_timestamp"]).dt.tz_localize(None).dt.normalize()
    return out


def serving_window_start(features: pd.DataFrame, sessions: int = SERVING_WINDOW_SESSIONS):
    days = sorted(with_dates(features)["date"].unique())
    return pd.Timestamp(days[max(0, len(days) - sessions)])


def serving_window(
    features: pd.DataFrame, sessions: int = SERVING_WINDOW_SESSIONS, end=None
) -> pd.DataFrame:
    """The last ``sessions`` closes of served features (up to ``end``, when given)."""
    rows = with_dates(features)
    if end is not None:
        rows = rows[rows["date"] <= pd.Timestamp(end)]
    days = sorted(rows["date"].unique())[-sessions:]
    return rows[rows["date"].isin(days)].reset_index(drop=True)


def reference_rows(
    training: pd.DataFrame,
    out_of_sample: pd.DataFrame,
    label: str,
    before,
    sessions: int = REFERENCE_SESSIONS,
) -> pd.DataFrame:
    """The drift reference: the last ``sessions`` days before ``before`` of walk-forward
    rows (features, out-of-sample prediction, realised label), sampled to a bounded size."""
    rows = with_dates(training)
    rows = rows[rows["date"] < pd.Timestamp(before)]
    scored = rows.merge(
        out_of_sample[["date", "symbol", "prediction"]], on=["date", "symbol"], how="inner"
    )
    days = sorted(scored["date"].unique())[-sessions:]
    scored = scored[scored["date"].isin(days)]
    if len(scored) > MAX_REFERENCE_ROWS:
        scored = scored.sample(MAX_REFERENCE_ROWS, random_state=0)
    out = scored[["date", "symbol", *ANALYST_FEATURES, "prediction"]].copy()
    out[TARGET] = scored[label].to_numpy()
    return out.sort_values(["date", "symbol"], ignore_index=True)


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
) -> tuple[RegisteredVersion, pd.DataFrame]:
    """Logs a trained Market Analyst to MLflow with what the gate will need of it (its drift
    reference, its walk-forward forecasts, the last labelled day, its training data's quality)
    and registers it as the challenger. Returns the version and its drift reference."""
    latest = result.latest_fold
    overall = result.folds.drop(columns=["fold", "test_start", "test_end"]).mean().to_dict()
    metrics = {
        f"oos_latest_{k}": float(v)
        for k, v in latest.items()
        if k not in ("fold", "test_start", "test_end")
    }
    metrics |= {f"oos_mean_{k}": float(v) for k, v in overall.items()}
    example = training_rows[ANALYST_FEATURES].tail(5).reset_index(drop=True)
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
                **result.model.get_params(),
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
        return pd.Series(
            self.model.predict(rows[ANALYST_FEATURES])["expected_return"].to_numpy(),
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
        model=mlflow.pyfunc.load_model(f"models:/{model_name(AGENT)}/{version}"),
        reference=frames[REFERENCE_ARTIFACT],
        out_of_sample=frames[OUT_OF_SAMPLE_ARTIFACT],
        trained_through=pd.Timestamp(run.data.tags["data_last_date"]),
        horizon_days=int(run.data.params["horizon_days"]),
        data_quality=mv.tags.get(DATA_QUALITY_TAG, "not_evaluated"),
        run_id=mv.run_id,
    )


def drift_of(
    version: AnalystVersion,
    window: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    thresholds: DriftThresholds | None = None,
    html_path: Path | None = None,
) -> DriftSummary:
    """``version``'s drift on a serving ``window``: its features, its predictions there, and
    the labels that have matured since its training data ended (none for a fresh model)."""
    current = window[["date", "symbol", *ANALYST_FEATURES]].copy()
    current[PREDICTION] = version.predict(current).to_numpy()
    label = f"forward_excess_return_{version.horizon_days}d"
    unseen = with_dates(labels)
    unseen = unseen[unseen["date"] > version.trained_through][["date", "symbol", label]]
    current = current.merge(unseen, on=["date", "symbol"], how="left").rename(
        columns={label: TARGET}
    )
    thresholds = thresholds or DriftThresholds()
    calibrated = calibrated_column_thresholds(
        version.reference,
        [*ANALYST_FEATURES, PREDICTION],
        window_sessions=window["date"].nunique(),
        floor=thresholds.column_distance,
    )
    return drift_report(
        version.reference,
        current,
        ANALYST_FEATURES,
        thresholds=thresholds,
        column_thresholds=calibrated,
        html_path=html_path,
        title=f"{model_name(AGENT)} v{version.version}: serving window vs training reference",
    )


# Version tags the drift report leaves for the gate, so the gate reads the report's result
# for the same serving window instead of computing it a second time.
DRIFT_WINDOW_END_TAG = "drift.window_end"
DRIFT_SHARE_TAG = "drift.drifted_feature_share"
DRIFT_FEATURES_TAG = "drift.drifted_features"
DRIFT_REPORT_TAG = "drift.last_report"


@dataclass(frozen=True)
class RecordedDrift:
    """A drift report's verdict as recorded on the model version."""

    window_end: str
    drifted_share: float
    drifted_features: list[str]
    report: str


def record_drift(
    client: MlflowClient, version: str, summary: DriftSummary, window_end: str
) -> RecordedDrift:
    """Logs the report to the version's run and its verdict to the version's tags."""
    run_id = client.get_model_version(model_name(AGENT), version).run_id
    client.log_artifact(run_id, summary.html_path, artifact_path="drift_reports")
    recorded = RecordedDrift(
        window_end,
        summary.drifted_share,
        list(summary.drifted_features),
        Path(summary.html_path).name,
    )
    for key, value in {
        DRIFT_WINDOW_END_TAG: window_end,
        DRIFT_SHARE_TAG: f"{recorded.drifted_share:.6f}",
        DRIFT_FEATURES_TAG: ",".join(recorded.drifted_features),
        DRIFT_REPORT_TAG: recorded.report,
    }.items():
        client.set_model_version_tag(model_name(AGENT), version, key, value)
    return recorded


def recorded_drift(client: MlflowClient, version: str, window_end: str) -> RecordedDrift | None:
    """The version's recorded drift verdict if it concerns the serving window ending on
    ``window_end``; None when there is none or it is about another window."""
    tags = client.get_model_version(model_name(AGENT), version).tags
    if tags.get(DRIFT_WINDOW_END_TAG) != window_end or DRIFT_SHARE_TAG not in tags:
        return None
    features = tags.get(DRIFT_FEATURES_TAG, "")
    return RecordedDrift(
        window_end,
        float(tags[DRIFT_SHARE_TAG]),
        [f for f in features.split(",") if f],
        tags.get(DRIFT_REPORT_TAG, ""),
    )


def head_to_head_rows(
    challenger: AnalystVersion, champion: AnalystVersion, labels: pd.DataFrame
) -> pd.DataFrame:
    """Rows out of sample for both: labelled days after the champion's training data ended
    (and its label horizon), where the challenger has a walk-forward prediction."""
    label = f"forward_excess_return_{challenger.horizon_days}d"
    rows = with_dates(labels)
    sessions = sorted(rows["date"].unique())
    later = [d for d in sessions if d > champion.trained_through]
    if len(later) <= champion.horizon_days:
        return pd.DataFrame(columns=["date", "symbol", "realized", "challenger", "champion"])
    first = later[champion.horizon_days]
    rows = rows[rows["date"] >= first]
    oos = challenger.out_of_sample[["date", "symbol", "prediction"]].rename(
        columns={"prediction": "challenger"}
    )
    rows = rows.merge(oos, on=["date", "symbol"], how="inner")
    if rows.empty:
        return pd.DataFrame(columns=["date", "symbol", "realized", "challenger", "champion"])
    rows["champion"] = champion.predict(rows).to_numpy()
    rows["realized"] = rows[label].to_numpy()
    return rows[["date", "symbol", "realized", "challenger", "champion"]]


def gate_evidence(
    challenger: AnalystVersion,
    champion: AnalystVersion,
    drift: DriftSummary | RecordedDrift,
    labels: pd.DataFrame,
) -> GateEvidence:
    ours, theirs, days, window = head_to_head(head_to_head_rows(challenger, champion, labels))
    return GateEvidence(
        challenger_metric=ours,
        champion_metric=theirs,
        window_days=days,
        window=window,
        drifted_share=drift.drifted_share,
        drifted_features=drift.drifted_features,
        data_quality=challenger.data_quality,
    )
