"""Sensors: drift on the live features launches retraining; failed runs raise an alert."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from agents.market_analyst.names import AGENT
from agents.model_names import CHAMPION, model_name
from assets.resources import Alerting, FeastStore, Ledger, ModelMonitoring
from assets.training.market_analyst import FEATURE_SERVICE
from orchestration.jobs import retrain_models

MODEL = model_name(AGENT)


@dg.sensor(
    job=retrain_models,
    minimum_interval_seconds=3600,
    description="Hourly: Evidently drift of the newest serving window of features against "
    "the champion's training reference. Above the threshold it writes the report and "
    "launches retrain_models (once per feature day and champion).",
)
def feature_drift_sensor(
    context: dg.SensorEvaluationContext, feast: FeastStore, model_monitoring: ModelMonitoring
):
    # MLflow and Evidently load when the sensor evaluates, not with the code location.
    from mlflow.exceptions import MlflowException

    from features.vectors import analyst_serving_rows
    from features.windows import window_end
    from monitoring.drift_records import latest_window_drift

    features = analyst_serving_rows(feast.exports, model_monitoring.serving_window_sessions)
    last_day = window_end(features)
    client = model_monitoring.client()
    try:
        version = str(client.get_model_version_by_alias(MODEL, CHAMPION).version)
    except MlflowException:
        return dg.SkipReason(f"{MODEL} has no champion yet")
    cursor = f"{last_day}/v{version}"
    if context.cursor == cursor:
        return dg.SkipReason(f"already checked features to {last_day} against v{version}")
    labels = feast.training_set(FEATURE_SERVICE)
    summary = latest_window_drift(
        client,
        version,
        features,
        labels,
        sessions=model_monitoring.serving_window_sessions,
        thresholds=model_monitoring.thresholds(),
        html_path=lambda end: model_monitoring.drift_report_path(MODEL, f"{version}-live", end),
    ).summary
    report = model_monitoring.reports().keep(Path(summary.html_path), "drift")
    context.update_cursor(cursor)
    if summary.passed:
        return dg.SkipReason(
            f"live drift {summary.drifted_share:.1%} below "
            f"{summary.thresholds.max_drifted_share:.0%} (v{version}, to {last_day})"
        )
    return dg.RunRequest(
        run_key=f"drift-{cursor}",
        tags={
            "quorum/trigger": "feature_drift",
            "quorum/drifted_feature_share": f"{summary.drifted_share:.4f}",
            "quorum/drift_report": report,
        },
    )


@dg.run_failure_sensor(
    description="A failed run is an alert: to the log, the ledger and the webhook if set."
)
def run_failure_alert(
    context: dg.RunFailureSensorContext, ledger: Ledger, alerting: Alerting
) -> None:
    from monitoring.alerts import Alert

    run = context.dagster_run
    message = context.failure_event.message or "run failed"
    # The step's own error says what broke (a file, a row, a field); the run's message only
    # names the step.
    causes = [
        f"{event.step_key}: {_root_cause(error)}"
        for event in context.get_step_failure_events()
        if (error := getattr(event.event_specific_data, "error", None)) is not None
    ]
    if causes:
        message = f"{message} {'; '.join(causes)}"
    log = ledger.open()
    try:
        alerting.sink(log).send(
            [Alert("run_failure", 1.0, 0.0, f"{run.job_name} run {run.run_id} failed: {message}")],
            subject=f"run {run.run_id}",
            reference=f"{run.run_id}/{datetime.now(UTC):%Y%m%dT%H%M%S}",
        )
    finally:
        log.close()


def _root_cause(error: SerializableErrorInfo) -> str:
    """The innermost error's message: Dagster wraps the op's own exception."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()
