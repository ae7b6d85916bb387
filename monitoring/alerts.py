"""The design's alert thresholds, evaluated on the desk's ledger after every cycle.

Alerts are not circuit breakers: a breaker halts trading; an alert tells a person. Every alert
is appended to the ledger (the audit trail) and logged; with ``QUORUM_ALERT_WEBHOOK`` set it
is also posted as Slack-compatible JSON (``{"text": ...}``), which Slack, Mattermost and most
chat webhooks accept. A webhook that fails is logged and recorded, never raised: an alert
must not stop the cycle it reports on.

No Dagster import.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from agents.desk.ledger import Event, EventLog

LOG = logging.getLogger("quorum.alerts")


@dataclass(frozen=True)
class AlertThresholds:
    max_drawdown: float = 0.05  # from the book's peak NAV
    max_decision_latency_ms: float = 100.0
    max_error_rate: float = 0.01  # share of recent cycles that could not decide
    max_model_drift: float = 0.15  # share of drifted features, latest drift report
    error_window_cycles: int = 100


@dataclass(frozen=True)
class DeskHealth:
    cycles: int
    drawdown: float | None
    decision_latency_ms: float | None  # the latest cycle's
    error_rate: float | None
    model_drift: float | None
    last_cycle_id: str | None


@dataclass(frozen=True)
class Alert:
    name: str
    value: float
    threshold: float
    message: str


def desk_health(log: EventLog, thresholds: AlertThresholds | None = None) -> DeskHealth:
    """The four watched numbers, from the ledger alone."""
    thresholds = thresholds or AlertThresholds()
    cycles = [
        e for e in log.read(event_types=["cycle_completed"]) if "nav_at_bar_close" in e.payload
    ]
    drifts = log.read(event_types=["drift_report"])
    navs = [float(e.payload["nav_at_bar_close"]) for e in cycles]
    drawdown = None
    if navs:
        peak = max(navs)
        drawdown = 1.0 - navs[-1] / peak if peak > 0 else None
    recent = cycles[-thresholds.error_window_cycles :]
    errors = sum(1 for e in recent if e.payload.get("refused"))
    latency = cycles[-1].payload.get("latency_ms") if cycles else None
    return DeskHealth(
        cycles=len(cycles),
        drawdown=drawdown,
        decision_latency_ms=float(latency) if latency is not None else None,
        error_rate=errors / len(recent) if recent else None,
        model_drift=float(drifts[-1].payload["drifted_feature_share"]) if drifts else None,
        last_cycle_id=cycles[-1].cycle_id if cycles else None,
    )


def evaluate(health: DeskHealth, thresholds: AlertThresholds | None = None) -> list[Alert]:
    t = thresholds or AlertThresholds()
    checks = [
        ("drawdown", health.drawdown, t.max_drawdown, "drawdown from peak NAV {v:.2%} > {t:.2%}"),
        (
            "decision_latency",
            health.decision_latency_ms,
            t.max_decision_latency_ms,
            "decision latency {v:.1f} ms > {t:.0f} ms",
        ),
        (
            "error_rate",
            health.error_rate,
            t.max_error_rate,
            f"cycles unable to decide {{v:.1%}} of the last {t.error_window_cycles} > {{t:.1%}}",
        ),
        (
            "model_drift",
            health.model_drift,
            t.max_model_drift,
            "drifted feature share {v:.1%} > {t:.1%} (latest drift report)",
        ),
    ]
    return [
        Alert(name, float(value), threshold, template.format(v=value, t=threshold))
        for name, value, threshold, template in checks
        if value is not None and value > threshold
    ]


class AlertSink:
    """Where alerts go: always the log and the ledger; the webhook when one is configured."""

    def __init__(self, log: EventLog, webhook_url: str | None = None, timeout: float = 5.0):
        self.log, self.webhook_url, self.timeout = log, webhook_url or None, timeout

    def send(self, alerts: list[Alert], subject: str, reference: str) -> list[Event]:
        """``subject`` names what was evaluated (a cycle id, a run); ``reference`` makes the
        ledger's event ids unique per evaluation, so a retried check does not alert twice."""
        if not alerts:
            return []
        text = f"Quorum alert ({subject}): " + "; ".join(a.message for a in alerts)
        LOG.warning(text)
        delivered = self._post(text) if self.webhook_url else "no webhook configured"
        now = datetime.now(UTC)
        events = [
            Event(
                f"alert/{reference}/{a.name}",
                "monitoring",
                "alert",
                now,
                {**asdict(a), "subject": subject, "webhook": delivered},
            )
            for a in alerts
        ]
        return self.log.append(events)

    def _post(self, text: str) -> str:
        request = urllib.request.Request(
            self.webhook_url,
            data=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return f"posted ({response.status})"
        except OSError as error:  # URLError, HTTPError and timeouts are all OSErrors
            LOG.error(f"alert webhook failed: {error}")
            return f"failed: {error}"
