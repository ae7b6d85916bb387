"""Every registry act the ledger holds (``PromotionWorkflow`` appends one ``model_<act>``
event per promotion, admission to shadow, refusal, rejection and rollback), as a table per
agent: what a quant reads to see how a model came to be champion. No Dagster import."""

from __future__ import annotations

import pandas as pd

from agents.desk.ledger import EventLog

ACTS = ("gate_promoted", "gate_admitted", "gate_refused", "promoted", "rejected", "rolled_back",
        "entered_shadow")  # fmt: skip
EVENT_TYPES = tuple(f"model_{act}" for act in ACTS)
COLUMNS = ["at", "agent", "act", "version", "champion_before", "champion_after", "actor",
           "reason"]  # fmt: skip


def registry_acts(
    log: EventLog, agent: str | None = None, limit: int | None = None
) -> pd.DataFrame:
    """The acts, oldest first (the last ``limit`` of them), for one agent or all."""
    rows = [_row(e.market_time, e.payload) for e in log.read(event_types=EVENT_TYPES)]
    acts = pd.DataFrame([r for r in rows if agent is None or r["agent"] == agent], columns=COLUMNS)
    return acts if limit is None else acts.tail(limit).reset_index(drop=True)


def _row(at: object, act: dict) -> dict:
    return {"at": at, "agent": act["agent"], "act": act["act"], "version": act["version"],
            "champion_before": act["previous_champion"], "champion_after": act["champion_after"],
            "actor": act["actor"], "reason": act["reason"]}  # fmt: skip


def acts_markdown(acts: pd.DataFrame, reason_chars: int = 160) -> str:
    """The table for the UI's metadata: reasons cut to ``reason_chars``, times to seconds."""
    if acts.empty:
        return "no registry act recorded yet"
    shown = acts.assign(
        at=pd.to_datetime(acts["at"], utc=True).dt.strftime("%Y-%m-%d %H:%M:%S"),
        reason=acts["reason"].str.slice(0, reason_chars),
    )
    return shown.to_markdown(index=False)
