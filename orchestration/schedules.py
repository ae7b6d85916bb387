"""Schedules on the desk's trading calendar (QUORUM_TRADING_CALENDAR, NYSE by default):
intraday decision cycles and the daily batch."""

import functools
from datetime import datetime

import dagster as dg
import pandas as pd

from orchestration.jobs import DESK_TAGS, daily_pipeline, decision_cycle

NYSE = "XNYS"

ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@functools.cache
def trading_calendar(name: str = NYSE):
    """pandas_market_calendars' calendar ``name``, built when a schedule first evaluates
    (not with the code location: the library takes a second to import)."""
    import pandas_market_calendars as mcal

    try:
        return mcal.get_calendar(name)
    except RuntimeError as error:
        raise ValueError(
            f"QUORUM_TRADING_CALENDAR={name!r} is not a calendar of pandas_market_calendars "
            "(XNYS, XLON, 24/7, ...)"
        ) from error


def _session_of(moment: datetime, calendar: str) -> pd.DataFrame:
    """The calendar's session (open and close, UTC) on ``moment``'s date in the exchange's
    own time zone: no row when it has none that day."""
    exchange = trading_calendar(calendar)
    day = pd.Timestamp(moment).tz_convert(exchange.tz).date()
    return exchange.schedule(day, day)


def market_open_at(moment: datetime, calendar: str = NYSE) -> bool:
    """True inside the calendar's regular hours (holidays closed, half days shortened)."""
    stamp = pd.Timestamp(moment).tz_convert("UTC")
    session = _session_of(stamp, calendar)
    return bool(len(session)) and bool(
        session["market_open"].iloc[0] <= stamp < session["market_close"].iloc[0]
    )


def session_on(moment: datetime, calendar: str = NYSE) -> bool:
    return len(_session_of(moment, calendar)) > 0


def _intraday_cron(minutes: int, calendar: str) -> str:
    """Every ``minutes`` (validated by the settings to divide an hour): in NYSE hours for
    the NYSE, around the clock for any other calendar (its hours gate each tick)."""
    return f"*/{minutes} 9-15 * * 1-5" if calendar == NYSE else f"*/{minutes} * * * *"


def intraday_rebalance_schedule(minutes: int, calendar: str = NYSE) -> dg.ScheduleDefinition:
    """The intraday decision schedule for the settings' interval (QUORUM_INTRADAY_MINUTES)
    and calendar (QUORUM_TRADING_CALENDAR)."""

    @dg.schedule(
        name="intraday_rebalance",
        job=decision_cycle,
        cron_schedule=_intraday_cron(minutes, calendar),
        execution_timezone="America/New_York",
        description=f"A decision cycle every {minutes} minutes during {calendar}'s regular "
        "hours on its sessions; a tick is skipped while another desk run is queued or running.",
    )
    def intraday_rebalance(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time
        if not market_open_at(tick, calendar):
            return dg.SkipReason(f"{calendar} closed at {tick.isoformat()}")
        active = context.instance.get_run_records(
            dg.RunsFilter(tags=DESK_TAGS, statuses=ACTIVE), limit=1
        )
        if active:
            return dg.SkipReason(f"desk run {active[0].dagster_run.run_id} still in progress")
        return dg.RunRequest(tags={**DESK_TAGS, "quorum/tick": tick.isoformat()})

    return intraday_rebalance


def daily_batch_schedule(calendar: str = NYSE) -> dg.ScheduleDefinition:
    """The daily batch at 17:30 New York time on the calendar's sessions."""

    @dg.schedule(
        name="daily_batch",
        job=daily_pipeline,
        cron_schedule="30 17 * * 1-5" if calendar == NYSE else "30 17 * * *",
        execution_timezone="America/New_York",
        description=f"After the close on {calendar}'s sessions: ingest, dbt, checks, features, "
        "challengers.",
    )
    def daily_batch(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time
        if not session_on(tick, calendar):
            return dg.SkipReason(f"{tick.date()} is not a {calendar} session")
        return dg.RunRequest()

    return daily_batch
