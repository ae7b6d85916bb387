"""The paper desk on the daily graph's 3 stocks and its index (``desk_parts`` in
``tests/agents/desk/conftest.py``), built the way every desk test builds it."""

from pathlib import Path

from agents.desk.breakers import BreakerThresholds
from agents.desk.cycle import Desk, DeskConfig
from agents.desk.feed import ReplayFeed
from agents.desk.ledger import DuckDBEventLog
from features.store import OnlineFeatureReader, SessionPublisher

START = "2022-11-01"


def make_desk(
    desk_parts, ledger: Path, feed=None, models=None, preparations=None, **config
) -> Desk:
    fitted, prices, store, exports = desk_parts
    models = models or fitted
    breakers = BreakerThresholds(**{"position_concentration": 0.5, **config.pop("breakers", {})})
    return Desk(
        models,
        feed or ReplayFeed(prices, start=START),
        OnlineFeatureReader(store, "market_analyst_v2"),
        DuckDBEventLog(ledger),
        DeskConfig(breakers=breakers, **config),
        index_symbol="SP500",
        on_session_open=SessionPublisher(store, exports).publish,
        preparations=preparations,
    )
