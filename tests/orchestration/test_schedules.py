"""The schedules follow the configured trading calendar (QUORUM_TRADING_CALENDAR)."""

import contextvars
from datetime import datetime

import dagster as dg
import pytest

from features.settings import QuorumSettings
from orchestration.schedules import daily_batch_schedule, intraday_rebalance_schedule

SATURDAY_NIGHT = "2022-11-26T03:00:00-05:00"
LONDON_MORNING = "2022-11-28T04:00:00-05:00"  # 09:00 in London, before New York's open


def _evaluate(schedule: dg.ScheduleDefinition, moment: str):
    # In a copy of the context: a Dagster instance leaves itself in a context variable as the
    # process's definitions-state storage, and later code locations in this worker would fail
    # on a disposed one.
    return contextvars.copy_context().run(_evaluate_here, schedule, moment)


def _evaluate_here(schedule: dg.ScheduleDefinition, moment: str):
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime.fromisoformat(moment)
        )
        return schedule.evaluate_tick(context)


def _launched(schedule: dg.ScheduleDefinition, moment: str) -> bool:
    result = _evaluate(schedule, moment)
    return bool(result.run_requests) and not result.skip_message


def test_a_market_that_never_closes_ticks_at_night_and_at_weekends():
    assert _launched(intraday_rebalance_schedule(30, "24/7"), SATURDAY_NIGHT)
    assert _launched(daily_batch_schedule("24/7"), SATURDAY_NIGHT)
    assert intraday_rebalance_schedule(5, "24/7").cron_schedule == "*/5 * * * *"


def test_the_nyse_default_skips_what_its_calendar_closes():
    closed = _evaluate(intraday_rebalance_schedule(30), SATURDAY_NIGHT)
    assert not closed.run_requests and "XNYS closed" in closed.skip_message
    assert not _launched(daily_batch_schedule(), SATURDAY_NIGHT)
    assert intraday_rebalance_schedule(30).cron_schedule == "*/30 9-15 * * 1-5"


def test_another_exchanges_hours_gate_the_ticks_in_its_own_time_zone():
    assert _launched(intraday_rebalance_schedule(30, "XLON"), LONDON_MORNING)
    assert not _launched(intraday_rebalance_schedule(30, "XNYS"), LONDON_MORNING)


def test_an_unknown_calendar_names_the_setting():
    with pytest.raises(dg.DagsterUserCodeExecutionError) as raised:
        _evaluate(intraday_rebalance_schedule(30, "MOON"), SATURDAY_NIGHT)
    assert "QUORUM_TRADING_CALENDAR='MOON'" in str(raised.value.__cause__)


def test_the_settings_default_to_the_nyse_and_read_the_variable(tmp_path):
    assert QuorumSettings(home=tmp_path).trading_calendar == "XNYS"
    assert QuorumSettings(home=tmp_path, trading_calendar="24/7").trading_calendar == "24/7"
