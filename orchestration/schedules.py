"""Schedules on the NYSE calendar: intraday decision cycles and the daily batch."""

from datetime import datetime

import dagster as dg
import pandas as pd
import pandas_market_calendars as mcal

from orchestration.jobs import DESK_TAGS, daily_pipeline, decision_cycle
from orchestration.settings import load_settings

NYSE = mcal.get_calendar("XNYS")
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def market_open_at(moment: datetime) -> bool:
    """True inside NYSE regular hours (holidays closed, half days closing at 13:00 ET)."""
    stamp = pd.Timestamp(moment).tz_convert("UTC")
    day = stamp.tz_convert("America/New_York").date()
    session = NYSE.schedule(day, day)
    return bool(len(session)) and bool(
        session["market_open"].iloc[0] <= stamp < session["market_close"].iloc[0]
    )


def session_on(moment: datetime) -> bool:
    day = pd.Timestamp(moment).tz_convert("America/New_York").date()
    return len(NYSE.schedule(day, day)) > 0


def _intraday_cron(minutes: int) -> str:
    if minutes <= 0 or 60 % minutes:
        raise ValueError(f"QUORUM_INTRADAY_MINUTES must divide an hour, not {minutes}")
    return f"*/{minutes} 9-15 * * 1-5"


@dg.schedule(
    job=decision_cycle,
    cron_schedule=_intraday_cron(load_settings().intraday_minutes),
    execution_timezone="America/New_York",
    description="A decision cycle every QUORUM_INTRADAY_MINUTES (30) during NYSE regular "
    "hours on trading days; a tick is skipped while another desk run is queued or running.",
)
def intraday_rebalance(context: dg.ScheduleEvaluationContext):
    tick = context.scheduled_execution_time
    if not market_open_at(tick):
        return dg.SkipReason(f"NYSE closed at {tick.isoformat()}")
    active = context.instance.get_run_records(
        dg.RunsFilter(tags=DESK_TAGS, statuses=ACTIVE), limit=1
    )
    if active:
        return dg.SkipReason(f"desk run {active[0].dagster_run.run_id} still in progress")
    return dg.RunRequest(tags={**DESK_TAGS, "quorum/tick": tick.isoformat()})


@dg.schedule(
    job=daily_pipeline,
    cron_schedule="30 17 * * 1-5",
    execution_timezone="America/New_York",
    description="After the close on NYSE sessions: ingest, dbt, checks, features, challengers.",
)
def daily_batch(context: dg.ScheduleEvaluationContext):
    tick = context.scheduled_execution_time
    if not session_on(tick):
        return dg.SkipReason(f"{tick.date()} is not an NYSE session")
    return dg.RunRequest()
