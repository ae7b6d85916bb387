"""Dagster resources for the paper desk: its ledger (and the bus it publishes on) and the
desk itself, one per process and configuration, with the lease a decision run holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from assets.resources.data import FeastStore, Warehouse
from assets.resources.tracking import MlflowTracking

# The domain code and its libraries (DuckDB, MLflow, Feast, the agents) load when a step
# uses a resource, not when Dagster loads the code location (see docs/speed.md).
if TYPE_CHECKING:
    from agents.desk.cycle import Desk
    from agents.desk.lease import DeskLease
    from agents.desk.ledger import EventLog


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
