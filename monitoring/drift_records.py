"""The analyst's drift on a serving window, and the verdict recorded on its model version:
the drift report leaves it there, so the gate reads the report's result for the same window
instead of computing it a second time. No Dagster import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from agents.market_analyst.registration import AGENT, AnalystVersion, load_analyst_version
from agents.model_registry import model_name
from features.names import ANALYST_FEATURES
from features.windows import (
    PREDICTION,
    SERVING_WINDOW_SESSIONS,
    TARGET,
    serving_window,
    window_end,
    with_dates,
)
from monitoring.drift import (
    DriftSummary,
    DriftThresholds,
    calibrated_column_thresholds,
    drift_report,
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
    # the model reads its windows too; drift is measured on the features and the prediction
    current[PREDICTION] = version.predict(window).to_numpy()
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


@dataclass(frozen=True)
class WindowDrift:
    version: AnalystVersion
    window: pd.DataFrame
    window_end: str
    summary: DriftSummary


def latest_window_drift(
    client: MlflowClient,
    version: str | AnalystVersion,
    feature_rows: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    sessions: int = SERVING_WINDOW_SESSIONS,
    thresholds: DriftThresholds | None = None,
    html_path: Callable[[str], Path] | None = None,
) -> WindowDrift:
    """A version's drift on the newest serving window of ``feature_rows``: the one path the
    drift report, the gate and the drift sensor share. ``html_path(window_end)`` names the
    report's file, when one is wanted."""
    loaded = (
        version if isinstance(version, AnalystVersion) else load_analyst_version(client, version)
    )
    window = serving_window(feature_rows, sessions)
    end = window_end(window)
    summary = drift_of(
        loaded,
        window,
        labels,
        thresholds=thresholds,
        html_path=html_path(end) if html_path is not None else None,
    )
    return WindowDrift(loaded, window, end, summary)
