"""Alerts on the design's thresholds and the Prometheus exposition, both read from a ledger."""

import json
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import dagster as dg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agents.desk.ledger import DuckDBEventLog, Event
from assets.resources import Alerting, Ledger
from monitoring.alerts import AlertSink, AlertThresholds, desk_health, evaluate
from monitoring.metrics import serve
from orchestration.sensors import run_failure_alert

START = datetime(2022, 12, 1, 14, 30, tzinfo=UTC)


def cycle(i: int, nav: float, latency_ms: float, refused: str | None = None) -> Event:
    cycle_id = f"replay-{i:03d}"
    return Event(
        f"{cycle_id}/cycle_completed",
        cycle_id,
        "cycle_completed",
        START + timedelta(minutes=30 * i),
        {"nav_at_bar_close": nav, "latency_ms": latency_ms, "refused": refused},
    )


def fill(i: int, symbol: str, quantity: int, price: float, schedule: str | None = "vwap",
         ordered: int | None = None, shortfall: float = 0.0005) -> Event:  # fmt: skip
    cycle_id = f"replay-{i:03d}"
    return Event(
        f"{cycle_id}/fill/{symbol}",
        cycle_id,
        "fill",
        START + timedelta(minutes=30 * i),
        {
            "symbol": symbol,
            "signed_quantity": quantity,
            "quantity": abs(quantity),
            "ordered": ordered or abs(quantity),
            "average_price": price,
            "implementation_shortfall": shortfall,
            "cash_delta_cents": -round(quantity * price * 100),
            "commission_cents": 100,
            "schedule": {"algorithm": schedule} if schedule else None,
            "participation": 0.01,
            "children": [[0, "LIT", True], [1, "DARK", False]] if i else None,
        },
    )


@pytest.fixture
def log(tmp_path):
    opened = DuckDBEventLog(tmp_path / "ledger.duckdb")
    opened.append([Event("open", "setup", "account_opened", START, {"cash_cents": 100_000_000})])
    yield opened
    opened.close()


def test_a_healthy_desk_raises_nothing_and_each_breach_is_named(log):
    log.append([cycle(i, 1_000_000 + 100 * i, 20.0) for i in range(10)])
    assert evaluate(desk_health(log)) == []

    log.append([cycle(10, 940_000, 180.0, refused="online feature store unreadable")])
    log.append(
        [Event("drift/1", "monitoring", "drift_report", START, {"drifted_feature_share": 0.3})]
    )
    health = desk_health(log)
    assert health.drawdown == pytest.approx(1 - 940_000 / 1_000_900)
    assert health.error_rate == pytest.approx(1 / 11)
    alerts = {a.name: a for a in evaluate(health)}
    assert set(alerts) == {"drawdown", "decision_latency", "error_rate", "model_drift"}
    assert alerts["decision_latency"].value == 180.0
    assert "180.0 ms > 100 ms" in alerts["decision_latency"].message
    # Thresholds are configurable: a looser desk raises fewer.
    loose = AlertThresholds(max_drawdown=0.1, max_decision_latency_ms=500, max_error_rate=0.2)
    assert {a.name for a in evaluate(health, loose)} == {"model_drift"}


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Webhook.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_alerts_post_slack_json_to_the_webhook_and_always_reach_the_ledger(log):
    log.append([cycle(0, 1_000_000, 250.0)])
    alerts = evaluate(desk_health(log))
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        written = AlertSink(log, url).send(alerts, subject="cycle replay-000", reference="run-1")
        again = AlertSink(log, url).send(alerts, subject="cycle replay-000", reference="run-1")
    finally:
        server.shutdown()
    (content_type, body), *_ = _Webhook.received
    assert content_type == "application/json"
    assert "decision latency 250.0 ms" in body["text"]
    assert [e.payload["webhook"] for e in written] == ["posted (200)"]
    assert again == []  # a retried check writes no second alert
    # Without a webhook (or with a dead one) the alert is still in the ledger.
    dead = AlertSink(log, "http://127.0.0.1:9/nothing", timeout=0.5)
    (event,) = dead.send(alerts, subject="cycle replay-000", reference="run-2")
    assert event.payload["webhook"].startswith("failed")
    assert len(log.read(event_types=["alert"])) == 2


@dg.op
def fetch_vendor_file() -> None:
    raise RuntimeError("vendor file prices.csv: row 17 has no close")


@dg.job
def nightly_ingest():
    fetch_vendor_file()


def test_a_failed_run_reaches_the_webhook_and_the_ledger_through_the_failure_sensor(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    failed = nightly_ingest.execute_in_process(instance=instance, raise_on_error=False)
    assert not failed.success
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Webhook.received.clear()
    ledger = Ledger(url=f"duckdb:///{tmp_path / 'alerts.duckdb'}")
    try:
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert",
            dagster_event=failed.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=failed.dagster_run,
            resources={
                "ledger": ledger,
                "alerting": Alerting(webhook_url=f"http://127.0.0.1:{server.server_port}/"),
            },
        )
        run_failure_alert(context.for_run_failure())
    finally:
        server.shutdown()
    ((_, body),) = _Webhook.received
    assert f"nightly_ingest run {failed.run_id} failed" in body["text"]
    assert "fetch_vendor_file: RuntimeError: vendor file prices.csv: row 17" in body["text"]
    log = ledger.open()
    try:
        (event,) = log.read(event_types=["alert"])
    finally:
        log.close()
    assert event.payload["name"] == "run_failure" and event.payload["webhook"] == "posted (200)"
    assert failed.run_id in event.payload["subject"]


def test_prometheus_exposition_on_loopback_reads_the_ledger(log, tmp_path):
    log.append([
        fill(0, "AAPL", 100, 150.0, schedule=None),  # recorded before the choice: VWAP
        fill(1, "AAPL", -40, 151.0, "almgren_chriss", ordered=50, shortfall=0.001),
        fill(1, "XOM", 10, 90.0, shortfall=0.0002),
    ])  # fmt: skip
    log.append([cycle(0, 1_000_050, 12.0), cycle(1, 1_000_120, 80.0)])
    log.close()
    server, _thread = serve(f"duckdb:///{tmp_path / 'ledger.duckdb'}", 0)
    try:
        port = server.server_port
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    finally:
        server.shutdown()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("quorum_trades_executed_total", (("side", "buy"),))] == 2
    assert samples[("quorum_trades_executed_total", (("side", "sell"),))] == 1
    assert samples[("quorum_decision_latency_seconds_count", ())] == 2
    assert samples[("quorum_decision_latency_seconds_bucket", (("le", "0.05"),))] == 1
    assert samples[("quorum_decision_latency_seconds_sum", ())] == pytest.approx(0.092)
    assert samples[("quorum_pnl_dollars", ())] == pytest.approx(120.0)
    assert samples[("quorum_active_positions", ())] == 2
    vwap, chasing = (("schedule", "vwap"),), (("schedule", "almgren_chriss"),)
    assert samples[("quorum_execution_orders_total", vwap)] == 2
    assert samples[("quorum_execution_fill_rate", chasing)] == pytest.approx(40 / 50)
    weighted = (5e-4 * 100 * 150 + 2e-4 * 10 * 90) / (100 * 150 + 10 * 90) * 1e4
    assert samples[("quorum_implementation_shortfall_bp", vwap)] == pytest.approx(weighted)
    assert samples[("quorum_execution_participation", vwap)] == pytest.approx(0.01)
    lit, dark = (("venue", "LIT"),), (("venue", "DARK"),)
    assert samples[("quorum_venue_child_orders_total", lit)] == 2  # two fills of cycle 1
    assert samples[("quorum_venue_fill_ratio", lit)] == 1.0
    assert samples[("quorum_venue_fill_ratio", dark)] == 0.0
    with pytest.raises(ValueError, match="loopback"):
        serve(f"duckdb:///{tmp_path / 'ledger.duckdb'}", 0, host="0.0.0.0")
