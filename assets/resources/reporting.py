"""Dagster resources for what watches the desk: drift reports, the promotion gate and the
registry workflow; the backtest's reports and MLflow runs; the alerts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from assets.resources.desk import Ledger
from assets.resources.tracking import MlflowTracking

# The domain code and its libraries (DuckDB, MLflow, Feast, the agents) load when a step
# uses a resource, not when Dagster loads the code location (see docs/speed.md).
if TYPE_CHECKING:
    from mlflow import MlflowClient

    from agents.desk.ledger import EventLog
    from agents.execution.agent import RLScheduler
    from monitoring.alerts import AlertSink, AlertThresholds
    from monitoring.drift import DriftThresholds
    from monitoring.promotion import GatePolicy
    from monitoring.registry_workflow import PromotionWorkflow
    from monitoring.report_store import ReportStore


class ModelMonitoring(dg.ConfigurableResource):
    """Drift reports, the promotion gate and the registry workflow: where reports go, the
    thresholds, and the registry and ledger every act is written to."""

    mlflow_tracking: MlflowTracking
    ledger: Ledger
    reports_dir: str  # a folder, or (distributed) an s3:// prefix
    reports_s3_endpoint_url: str | None = None
    max_drifted_share: float = 0.15  # the design's model-drift threshold
    column_distance: float = 0.1  # normed Wasserstein distance at which a feature drifted
    min_improvement: float = 0.0  # rank IC the challenger must gain over the champion
    min_window_days: int = 20  # common out-of-sample days needed to compare them
    serving_window_sessions: int = 63
    # False: a first analyst version failing its bootstrap gate is made champion anyway, the
    # gate's verdict recorded with it (QUORUM_BOOTSTRAP_GATE).
    bootstrap_gate: bool = True

    def thresholds(self) -> DriftThresholds:
        from monitoring.drift import DriftThresholds

        return DriftThresholds(self.column_distance, self.max_drifted_share)

    def policy(self) -> GatePolicy:
        from monitoring.promotion import GatePolicy

        return GatePolicy(self.min_improvement, self.max_drifted_share, self.min_window_days)

    def client(self) -> MlflowClient:
        from mlflow import MlflowClient

        self.mlflow_tracking.configure()
        return MlflowClient()

    @contextmanager
    def workflow(self) -> Iterator[PromotionWorkflow]:
        """The registry workflow with a ledger opened for this act only (the embedded DuckDB
        ledger takes one writer process at a time)."""
        from monitoring.registry_workflow import PromotionWorkflow

        log = self.ledger.open()
        try:
            yield PromotionWorkflow(self.client(), log)
        finally:
            log.close()

    def reports(self) -> ReportStore:
        from monitoring.report_store import ReportStore

        return ReportStore(self.reports_dir, self.reports_s3_endpoint_url)

    def drift_report_path(self, model: str, version: str, day: str) -> Path:
        """Where a drift report is written; ``reports().keep`` then keeps it."""
        return self.reports().local_path("drift", f"{model}-v{version}-{day}.html")


class Backtesting(dg.ConfigurableResource):
    """Where backtest reports go, and the MLflow store their runs are logged to."""

    reports_dir: str  # a folder, or (distributed) an s3:// prefix
    mlflow_tracking: MlflowTracking
    experiment: str = "quorum-backtest"
    reports_s3_endpoint_url: str | None = None

    def reports(self) -> ReportStore:
        from monitoring.report_store import ReportStore

        return ReportStore(self.reports_dir, self.reports_s3_endpoint_url)

    def rl_scheduler_to_compare(self) -> RLScheduler | None:
        """The registered RL scheduler the post-trade analysis compares with the classical
        schedules: the champion, else the challenger; None when none is registered."""
        from mlflow import MlflowClient

        from agents.desk.models import load_rl_scheduler
        from agents.model_names import CHALLENGER, CHAMPION

        self.mlflow_tracking.configure()
        client = MlflowClient()
        return load_rl_scheduler(client, CHAMPION) or load_rl_scheduler(client, CHALLENGER)

    def log_to_mlflow(self, summary: dict, artifacts: list[Path]) -> str:
        """One MLflow run: the walk-forward settings, every strategy's full-period metrics,
        and the summary and report files; returns its run id."""
        import mlflow

        self.mlflow_tracking.configure()
        mlflow.set_experiment(self.experiment)
        walk = {k: v for k, v in summary["walk_forward"].items() if k != "retrained"}
        with mlflow.start_run(run_name="backtest") as run:
            mlflow.log_params({k: str(v) for k, v in walk.items()})
            mlflow.set_tags({"period_start": summary["period"]["start"],
                             "period_end": summary["period"]["end"]})  # fmt: skip
            for name, measured in summary["strategies"].items():
                for window in ("full", "holdout"):
                    for key, value in measured.get(window, {}).items():
                        if isinstance(value, float) and math.isfinite(value):
                            mlflow.log_metric(f"{name}.{window}.{key}", value)
            for path in artifacts:
                mlflow.log_artifact(str(path))
        return run.info.run_id


class Alerting(dg.ConfigurableResource):
    """The design's alert thresholds and where alerts go (QUORUM_ALERT_WEBHOOK, if set)."""

    webhook_url: str | None = None
    max_drawdown: float = 0.05
    max_decision_latency_ms: float = 100.0
    max_error_rate: float = 0.01
    max_model_drift: float = 0.15

    def thresholds(self) -> AlertThresholds:
        from monitoring.alerts import AlertThresholds

        return AlertThresholds(
            self.max_drawdown,
            self.max_decision_latency_ms,
            self.max_error_rate,
            self.max_model_drift,
        )

    def sink(self, log: EventLog) -> AlertSink:
        from monitoring.alerts import AlertSink

        return AlertSink(log, self.webhook_url)
