"""Dagster resources: the only place where Quorum's configuration meets Dagster."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from agents.market_analyst.names import LIGHTGBM, SEQUENCE_MEMBERS

# The domain code and its libraries (DuckDB, MLflow, Feast, the agents) load when a step
# uses a resource, not when Dagster loads the code location (see docs/speed.md).
if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    from feast import FeatureStore
    from mlflow import MlflowClient

    from agents.desk.cycle import Desk
    from agents.desk.lease import DeskLease
    from agents.desk.ledger import EventLog
    from agents.execution.agent import RLScheduler
    from features.ingestion.market_data import MarketData
    from features.ingestion.staged import StagedMarket
    from features.parquet_store import ParquetStore
    from monitoring.alerts import AlertSink, AlertThresholds
    from monitoring.drift import DriftThresholds
    from monitoring.promotion import GatePolicy
    from monitoring.registry_workflow import PromotionWorkflow
    from monitoring.report_store import ReportStore


class MarketDataSource(dg.ConfigurableResource):
    """Where prices come from: ``sp500``, ``arch``, ``csv:PATH`` or ``parquet:PATH``."""

    spec: str = "sp500"
    benchmark_symbol: str | None = None
    s3_endpoint_url: str | None = None  # where a ``csv:s3://...`` file's store answers

    def load(self) -> MarketData:
        from features.ingestion.market_data import load_market_data

        return load_market_data(self.spec, self.benchmark_symbol, self.s3_endpoint_url)


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file that holds raw prices and the dbt models; and where the steps after
    the batch's DuckDB steps read the staged market: the file, or (``staged_root``, the
    distributed profile) the Parquet copies the dbt step keeps on the S3 store."""

    path: str
    staged_root: str | None = None
    s3_endpoint_url: str | None = None
    # Distributed: where the file is kept between the steps that write it (ingestion, dbt).
    object_uri: str | None = None

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        from features.ingestion import price_store

        return price_store.connect(self.path, read_only=read_only)

    def fetch(self) -> bool:
        """Before a step writes the file: the kept copy, when there is one, replaces this
        step's (``features.ingestion.kept_warehouse``). False: nothing kept, or no store."""
        from features.ingestion.kept_warehouse import fetch_warehouse

        if self.object_uri is None:
            return False
        return fetch_warehouse(Path(self.path), self.object_uri, self.s3_endpoint_url)

    def keep(self) -> str | None:
        """After a step wrote the file and succeeded: kept whole for the next one; its URI."""
        from features.ingestion.kept_warehouse import keep_warehouse

        if self.object_uri is None:
            return None
        return keep_warehouse(Path(self.path), self.object_uri, self.s3_endpoint_url)

    @property
    def staged_store(self) -> ParquetStore | None:
        from features.parquet_store import ParquetStore

        return ParquetStore(self.staged_root, self.s3_endpoint_url) if self.staged_root else None

    def staged_market(self) -> StagedMarket:
        """dbt's staged prices and symbols, from the store when one is set, else the file."""
        from features.ingestion.staged import load_staged_market, read_staged_market

        store = self.staged_store
        if store is not None:
            return load_staged_market(store)
        with self.connect(read_only=True) as con:
            return read_staged_market(con)


class FeastStore(dg.ConfigurableResource):
    """Quorum's Feast feature store: SQLite online store (embedded) or Redis (production);
    and the training sets joined from it, under ``training_root``: a folder, or (distributed)
    an ``s3://`` prefix on the store at ``s3_endpoint_url``."""

    profile: str = "embedded"
    exports_dir: str  # the folder dbt writes the exports to, on the dbt step's disk
    exports_root: str | None = None  # where steps read them; None: ``exports_dir``
    training_root: str
    s3_endpoint_url: str | None = None
    # Distributed: the PostgreSQL schema (and its database) Feast's offline store reads.
    offline_schema: str | None = None
    offline_conninfo: str | None = None

    def open(self) -> FeatureStore:
        from features.store import open_store

        return open_store(self.profile)

    @property
    def training_sets(self) -> ParquetStore:
        from features.parquet_store import ParquetStore

        return ParquetStore(self.training_root, self.s3_endpoint_url)

    def training_set(self, feature_service: str) -> pd.DataFrame:
        """The feature service's training set, as the daily batch's ``training_set`` asset
        last wrote it."""
        sets = self.training_sets
        if not sets.exists(feature_service):
            raise FileNotFoundError(
                f"no training set at {sets.uri(feature_service)}: the daily batch's "
                "training_set asset writes it (run daily_pipeline, or materialize training_set)"
            )
        return sets.read(feature_service)

    @property
    def exports(self) -> ParquetStore:
        """The dbt exports, where every step reads them: the folder dbt writes, or
        (distributed) the S3 prefix the dbt step puts them under."""
        from features.parquet_store import ParquetStore

        return ParquetStore(self.exports_root or self.exports_dir, self.s3_endpoint_url)


class MlflowTracking(dg.ConfigurableResource):
    """MLflow tracking and registry: SQLite under QUORUM_HOME, or PostgreSQL in production."""

    tracking_uri: str
    artifact_location: str | None = None  # None: the tracking server's own artifact root
    experiment: str = "quorum"

    def configure(self) -> None:
        from agents import model_registry
        from features.postgres import ensure_database

        if self.tracking_uri.startswith("postgresql"):
            ensure_database(self.tracking_uri)
        model_registry.configure(self.tracking_uri, self.experiment, self.artifact_location)


class AnalystTraining(dg.ConfigurableResource):
    """The deployment's Market Analyst ensemble (``QUORUM_ANALYST_MEMBERS``): the members its
    training fits when a run's config names none; and the Ray cluster its search's trials
    run on when asked for Ray (``QUORUM_RAY_ADDRESS``; None: a Ray inside the step)."""

    members: list[str] = Field(default=[LIGHTGBM, *SEQUENCE_MEMBERS])
    ray_address: str | None = None


class Ledger(dg.ConfigurableResource):
    """The desk's event log: ``duckdb:///PATH`` (embedded) or ``postgresql://...``; with a
    ``bus_url`` (the production profile's Redis), every event it appends is also published
    on Redis Streams under ``bus_prefix`` (``agents.desk.bus``)."""

    url: str
    bus_url: str | None = None
    bus_prefix: str = "quorum"

    def open(self) -> EventLog:
        from agents.desk.ledger import open_event_log
        from features.postgres import ensure_database

        if self.url.startswith("postgresql"):
            ensure_database(self.url)
        ledger = open_event_log(self.url)
        if self.bus_url is None:
            return ledger
        import redis

        from agents.desk.bus import PublishingEventLog, StreamBus

        return PublishingEventLog(
            ledger, StreamBus(redis.Redis.from_url(self.bus_url), self.bus_prefix)
        )


# One desk per process and configuration: the steps of a run (in-process executor) share
# its ledger connection and its per-session preparations.
_DESKS: dict[str, Desk] = {}
_LEASES: dict[str, DeskLease] = {}  # by ledger URL: one per ledger in this process


class TradingDesk(dg.ConfigurableResource):
    """The paper desk: the champions from MLflow, the replay feed over the warehouse's
    prices, the online feature store and the ledger."""

    warehouse: Warehouse
    feast: FeastStore
    mlflow_tracking: MlflowTracking
    ledger: Ledger
    replay_start: str | None = None
    replay_sessions: int = 10
    initial_cash: float = 1_000_000.0
    halt_policy: str = "hold"
    max_short: float = 0.0
    canary_share: float = 0.0  # of the book traded by the analyst's challenger
    hedge: bool = True
    hedge_instrument: str | None = None
    # Session preparations shared by the runs of a session: a folder or an s3:// prefix.
    sessions_root: str | None = None
    sessions_s3_endpoint_url: str | None = None
    venues_file: str | None = None  # SIMULATED venues child orders are routed to; None: none
    # How long a desk run waits for the run deciding before it (a decision takes ~1 s; a
    # paper day, minutes); within the decision run's own 600 s runtime limit.
    lease_timeout_s: float = 300.0

    def desk(self) -> Desk:
        key = self.model_dump_json()
        if key not in _DESKS:
            _DESKS[key] = self._build()
        return _DESKS[key]

    def held_desk(self) -> Desk:
        """The desk, with this process holding the desk's lease until the run's end
        (``agents.desk.lease``): built first, so a run starts beside another run's decision
        and waits only to decide. Every step that reads or changes the desk's state asks
        for it this way; asking again in the same run is free."""
        from agents.desk.lease import DeskBusy, desk_lease

        desk = self.desk()
        if self.ledger.url not in _LEASES:
            _LEASES[self.ledger.url] = desk_lease(self.ledger.url)
        lease = _LEASES[self.ledger.url]
        try:
            lease.acquire(timeout_s=self.lease_timeout_s)
        except DeskBusy as busy:  # the step fails saying why; nothing was read or written
            raise dg.Failure(description=str(busy)) from busy
        return desk

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """The run's end (its steps done or failed): the next desk run may decide."""
        lease = _LEASES.get(self.ledger.url)
        if lease is not None:
            lease.release()

    def _build(self) -> Desk:
        from agents.desk.breakers import BreakerThresholds
        from agents.desk.cycle import Desk, DeskConfig
        from agents.desk.feed import ReplayFeed
        from agents.desk.models import NoChampion, load_desk_models, with_hedge, with_long_short
        from agents.desk.preparations import PreparationStore
        from features.names import ANALYST_SERVICE
        from features.store import OnlineFeatureReader, SessionPublisher

        self.mlflow_tracking.configure()
        try:
            champions = load_desk_models()
        except NoChampion as missing:  # the step fails saying why; nothing trades
            raise dg.Failure(description=str(missing)) from missing
        models = with_hedge(champions, self.hedge, self.hedge_instrument)
        models = with_long_short(models, self.max_short)
        market = self.warehouse.staged_market()
        prices = market.prices
        sessions = sorted(prices["date"].unique())
        start = self.replay_start or str(sessions[-min(self.replay_sessions, len(sessions) - 1)])
        store = self.feast.open()
        config = DeskConfig(
            initial_cash=self.initial_cash,
            breakers=BreakerThresholds(policy=self.halt_policy),
            venues_file=self.venues_file,
            canary_share=self.canary_share,
        )
        publisher = SessionPublisher(store, self.feast.exports)
        return Desk(
            models,
            ReplayFeed(prices, start=start),
            OnlineFeatureReader(store, ANALYST_SERVICE),
            self.ledger.open(),
            config,
            index_symbol=market.benchmark_symbol,
            on_session_open=publisher.publish,
            before_open=publisher.prepare,
            preparations=(
                PreparationStore(self.sessions_root, self.sessions_s3_endpoint_url)
                if self.sessions_root
                else None
            ),
        )


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
