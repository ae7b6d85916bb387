"""The canary's evidence from its ledger records: each cycle's return of the canary and of the
main book, only within one canary's life, and the paired test of one against the other."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from agents.desk.canary import EVENT
from agents.desk.ledger import Event
from monitoring.canary_evidence import canary_evidence, cycle_returns

START = datetime(2023, 1, 3, 14, 30, tzinfo=UTC)


def records(canary_navs, main_navs, version="2", started="c0", first=0) -> list[Event]:
    out = []
    for i, (ours, theirs) in enumerate(zip(canary_navs, main_navs, strict=True)):
        at = START + timedelta(minutes=30 * (first + i))
        payload = {"version": version, "started_cycle": started, "nav_cents": ours,
                   "main_nav_cents": theirs, "pnl_cents": ours - canary_navs[0],
                   "main_pnl_cents": theirs - main_navs[0]}  # fmt: skip
        out.append(Event(f"c{first + i}/{EVENT}", f"c{first + i}", EVENT, at, payload))
    return out


def test_returns_are_per_cycle_and_never_cross_from_one_canary_to_the_next():
    rng = np.random.default_rng(3)
    canary = list(10_000_000 * np.cumprod(1 + rng.normal(0.001, 0.002, 30)))
    main = list(30_000_000 * np.cumprod(1 + rng.normal(0.0, 0.002, 30)))
    older = records([round(v) for v in canary[:10]], [round(v) for v in main[:10]], "2")
    newer = records([round(v) for v in canary[10:]], [round(v) for v in main[10:]], "3",
                    started="c10", first=10)  # fmt: skip
    returns = cycle_returns(older + newer)
    assert list(returns["version"]) == ["2"] * 9 + ["3"] * 19  # no return across the restart
    assert returns["canary_return"].iloc[0] == pytest.approx(
        round(canary[1]) / round(canary[0]) - 1
    )
    evidence = canary_evidence(returns, "3")
    assert evidence.cycles == 19
    assert evidence.canary_return == pytest.approx(round(canary[-1]) / round(canary[10]) - 1)
    assert evidence.mean_excess_return > 0 and evidence.p_value < 0.05
    assert canary_evidence(returns, "4") is None


def test_a_canary_no_better_than_the_main_book_is_not_called_better():
    rng = np.random.default_rng(5)
    navs = list(10_000_000 * np.cumprod(1 + rng.normal(0.0, 0.002, 40)))
    same = [round(v) for v in navs]
    evidence = canary_evidence(cycle_returns(records(same, same)), "2")
    assert evidence.mean_excess_return == pytest.approx(0.0, abs=1e-12)
    assert not evidence.p_value < 0.05  # NaN: no difference at all to test
