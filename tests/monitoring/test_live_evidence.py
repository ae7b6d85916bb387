"""The live gate and the rollback check read shadow events: forecasts scored by the next
cycle's prices, a challenger promoted only on enough cycles and a significant paired gain,
a champion rolled back when its live rank IC falls below its validation band."""

from datetime import UTC, datetime, timedelta

import numpy as np

from agents.desk.ledger import Event
from monitoring.live_evidence import (
    LivePolicy,
    cycle_scores,
    evaluate_live_gate,
    live_evidence,
    rollback_check,
)

START = datetime(2022, 11, 1, 14, 30, tzinfo=UTC)
NAMES = [f"S{i:02d}" for i in range(30)]


def shadow_events(
    cycles: int,
    challenger_skill: float,
    champion_skill: float,
    seed: int = 0,
    version: str | None = "2",
    champion_version: str = "1",
    start: datetime = START,
) -> list[Event]:
    """Forecasts that know ``skill`` of the next cycle's move (the rest is noise)."""
    rng = np.random.default_rng(seed)
    prices = np.full(len(NAMES), 100.0)
    moves = rng.normal(0, 0.01, (cycles + 1, len(NAMES)))
    events = []
    for c in range(cycles + 1):
        noise = rng.normal(0, 0.01, (2, len(NAMES)))
        ours = challenger_skill * moves[c] + noise[0]
        theirs = champion_skill * moves[c] + noise[1]
        at = start + timedelta(minutes=30 * c)
        cycle_id = f"replay-{at:%Y%m%dT%H%MZ}"
        events.append(Event(f"{cycle_id}/shadow_signals", cycle_id, "shadow_signals", at, {
            "agent": "market_analyst", "version": version, "champion_version": champion_version,
            "prices": dict(zip(NAMES, prices.tolist(), strict=True)),
            "champion": dict(zip(NAMES, theirs.tolist(), strict=True)),
            "challenger": dict(zip(NAMES, ours.tolist(), strict=True)) if version else None,
        }))  # fmt: skip
        prices = prices * (1 + moves[c])
    return events


def test_each_cycle_is_scored_against_the_move_to_the_next_cycles_prices():
    scores = cycle_scores(shadow_events(60, challenger_skill=3.0, champion_skill=0.0))
    assert len(scores) == 60  # the last event waits for its next prices
    assert scores["challenger_ic"].mean() > 0.5
    assert abs(scores["champion_ic"].mean()) < 0.1


def test_a_challenger_better_on_enough_cycles_is_promoted_with_a_validation_band():
    scores = cycle_scores(shadow_events(60, challenger_skill=1.0, champion_skill=0.0))
    evidence = live_evidence(scores, "2")
    decision = evaluate_live_gate(evidence, drifted_share=0.05, data_quality="passed")
    assert decision.promote and evidence.p_value < 0.05 and evidence.cycles == 60
    assert decision.band_lower == evidence.challenger_ic - 2 * evidence.challenger_ic_se
    assert decision.record()["test"].startswith("one-sided paired t-test")


def test_too_few_cycles_no_significant_gain_drift_or_failed_checks_each_refuse():
    few = live_evidence(cycle_scores(shadow_events(10, 1.0, 0.0)), "2")
    (reason,) = evaluate_live_gate(few, 0.0, "passed").reasons
    assert "10 shadow cycles scored (need 40)" in reason
    worse = live_evidence(cycle_scores(shadow_events(80, 0.3, 0.6, seed=3)), "2")
    decision = evaluate_live_gate(worse, 0.0, "passed")
    assert not decision.promote and "paired t-test" in decision.reasons[0]
    good = live_evidence(cycle_scores(shadow_events(60, 1.0, 0.0)), "2")
    refused = evaluate_live_gate(good, 0.2, "failed")
    assert not refused.promote and refused.band_lower is None
    assert [r.split(":")[0] for r in refused.reasons] == [
        "drift",
        "data quality of the training data",
    ]


def test_a_champion_below_its_validation_band_is_rolled_back_and_one_without_a_band_never():
    # Promoted with a band from its shadow record, then its forecasts lose their skill.
    shadow = live_evidence(cycle_scores(shadow_events(60, 1.0, 0.0)), "2")
    band = evaluate_live_gate(shadow, 0.0, "passed").band_lower
    as_champion = cycle_scores(shadow_events(50, 0.0, 0.0, seed=5, version=None,
                                             champion_version="2"))  # fmt: skip
    check = rollback_check(as_champion, "2", band)
    assert check.due and "below its validation band" in check.reason and check.cycles == 40
    skilled = cycle_scores(shadow_events(50, 0.0, 1.0, seed=5, version=None, champion_version="2"))
    assert not rollback_check(skilled, "2", band).due
    assert not rollback_check(as_champion, "2", None).due  # the bootstrap champion
    short = rollback_check(as_champion, "2", band, LivePolicy(window_cycles=100))
    assert not short.due and "need 100" in short.reason


def test_would_be_books_earn_what_their_weights_did_to_the_next_target():
    from monitoring.live_evidence import book_evidence, book_scores

    events = shadow_events(12, 1.0, 0.0, seed=4)
    # The champion's target is set every fourth cycle; each book holds one name.
    for i, event in enumerate(events):
        if i % 4 == 0:
            event.payload["books"] = {"champion_weights": {"S00": 1.0},
                                      "challenger_weights": {"S01": 0.5}}  # fmt: skip
    scores = book_scores(events)
    assert len(scores) == 3  # targets at cycles 0, 4, 8, 12: three holding periods
    first, later = events[0].payload["prices"], events[4].payload["prices"]
    assert abs(scores["champion_book_return"].iloc[0] - (later["S00"] / first["S00"] - 1)) < 1e-12
    assert abs(scores["challenger_book_return"].iloc[0]
               - 0.5 * (later["S01"] / first["S01"] - 1)) < 1e-12  # fmt: skip
    evidence = book_evidence(scores, "2")
    assert evidence["targets"] == 3 and np.isfinite(evidence["p_value"])
    assert book_evidence(scores, "9")["targets"] == 0
