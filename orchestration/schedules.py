"""Schedules on the NYSE calendar: intraday decision cycles and the daily batch."""

import functools
from datetime import datetime

import dagster as dg
import pandas as pd

from orchestration.jobs import DESK_TAGS, daily_pipeline, decision_cycle

ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@functools.cache
def nyse():
    """The NYSE calendar, built when a schedule first evaluates (not with the location)."""
    import pandas_market_calendars as mcal

    return mcal.get_calendar("XNYS")


def market_open_at(moment: datetime) -> bool:
    """True inside NYSE regular hours (holidays closed, half days closing at 13:00 ET)."""
    stamp = pd.Timestamp(moment).tz_convert("UTC")
    day = stamp.tz_convert("America/New_York").date()
    session = nyse().schedule(day, day)
    return bool(len(session)) and bool(
        session["market_open"].iloc[0] <= stamp < session["market_close"].iloc[0]
    )


def session_on(moment: datetime) -> bool:
    day = pd.Timestamp(moment).tz_convert("America/New_York").date()
    return len(nyse().schedule(day, day)) > 0


def _intraday_cron(minutes: int) -> str:
    """Every ``minutes`` (validated by the settings to divide an hour) in NYSE hours."""
    return f"*/{minutes} 9-15 * * 1-5"


def intraday_rebalance_schedule(minutes: int) -> dg.ScheduleDefinition:
    """The intraday decision schedule for the settings' interval (QUORUM_INTRADAY_MINUTES)."""

    @dg.schedule(
        name="intraday_rebalance",
        job=decision_cycle,
        cron_schedule=_intraday_cron(minutes),
        execution_timezone="America/New_York",
        description=f"A decision cycle every {minutes} minutes during NYSE regular hours on "
        "trading days; a tick is skipped while another desk run is queued or running.",
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

    return intraday_rebalance


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
