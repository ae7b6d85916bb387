"""Session preparations prepared before the open, kept for other processes: the decisions are
the ones a desk preparing in its own cycles makes, and a stored preparation is only ever read
back by a desk that would prepare the same thing."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from agents.desk.feed import ReplayFeed
from agents.desk.preparations import KEEP_FILES, PreparationStore
from tests.support.desk import START, make_desk

VERSIONS = {"market_analyst": "1", "risk_manager": "1", "portfolio_optimizer": "1",
            "execution": "1"}  # fmt: skip


def decisions(log) -> list[tuple]:
    """What the desk decided: every target, budget, risk verdict and order, by cycle."""
    kept = ("target_set", "risk_budget", "risk_assessment", "order", "fill")
    rows = []
    for event in log.read(event_types=list(kept)):
        payload = {k: v for k, v in event.payload.items() if "latency" not in k}
        rows.append((event.event_id, event.event_type, repr(sorted(payload.items()))))
    return rows


def test_a_session_prepared_before_the_open_by_another_process_gives_the_same_decisions(
    desk_parts, tmp_path
):
    models = replace(desk_parts[0], versions=VERSIONS)
    in_cycle = make_desk(desk_parts, tmp_path / "a.duckdb", models=models)  # today's way
    for _ in range(2):
        in_cycle.run_session()

    store = PreparationStore(tmp_path / "sessions")
    for day in in_cycle.feed.sessions[:2]:  # "after the close": another process prepares
        make_desk(desk_parts, tmp_path / "prep.duckdb", models=models,
                  preparations=store).prepare(day)  # fmt: skip
    assert len(list(store.root.glob("*.pkl"))) == 2
    loaded = make_desk(desk_parts, tmp_path / "b.duckdb", models=models, preparations=store)
    for _ in range(2):
        loaded.run_session()
    assert len(list(store.root.glob("*.pkl"))) == 2  # both read back, none prepared again

    assert decisions(loaded.log) == decisions(in_cycle.log)
    assert any(t == "order" for _, t, _ in decisions(loaded.log))


def test_a_stored_preparation_is_read_back_only_for_the_same_prices_and_models(
    desk_parts, tmp_path
):
    models = replace(desk_parts[0], versions=VERSIONS)
    store = PreparationStore(tmp_path / "sessions")
    desk = make_desk(desk_parts, tmp_path / "a.duckdb", models=models, preparations=store)
    day = desk.feed.sessions[0]
    prepared = desk.prepare(day)
    again = make_desk(desk_parts, tmp_path / "b.duckdb", models=models, preparations=store)
    loaded = again.prepare(day)
    assert loaded is not prepared  # read from the file, not shared memory
    np.testing.assert_array_equal(loaded.risk.covariance, prepared.risk.covariance)

    # A corrected price before the session, or a new model version: prepared afresh.
    _, prices, _, _ = desk_parts
    corrected = prices.copy()
    first = corrected["date"] == corrected["date"].min()
    corrected.loc[first, "close"] = corrected.loc[first, "close"] * 1.01
    other_data = make_desk(desk_parts, tmp_path / "c.duckdb", models=models, preparations=store,
                           feed=ReplayFeed(corrected, start=START))  # fmt: skip
    newer = replace(models, versions={**VERSIONS, "risk_manager": "2"})
    other_model = make_desk(desk_parts, tmp_path / "d.duckdb", models=newer, preparations=store)
    for other in (other_data, other_model):
        other.prepare(day)
    assert len(list(store.root.glob("*.pkl"))) == 3
    assert not pd.DataFrame(other_data.prepare(day).returns).equals(prepared.returns)


def test_models_without_registry_versions_keep_preparations_in_memory(desk_parts, tmp_path):
    store = PreparationStore(tmp_path / "sessions")
    desk = make_desk(desk_parts, tmp_path / "a.duckdb", preparations=store)  # no versions
    desk.prepare(desk.feed.sessions[0])
    assert not store.root.exists()


def test_a_preparation_stored_by_other_code_is_prepared_afresh(desk_parts, tmp_path, monkeypatch):
    """After an upgrade that changes how a session is prepared, an older file is not read."""
    import agents.desk.preparations as preparations

    models = replace(desk_parts[0], versions=VERSIONS)
    store = PreparationStore(tmp_path / "sessions")
    day = make_desk(desk_parts, tmp_path / "a.duckdb", models=models).feed.sessions[0]
    make_desk(desk_parts, tmp_path / "a.duckdb", models=models, preparations=store).prepare(day)
    monkeypatch.setattr(preparations, "code_digest", lambda: "another version of the code")
    make_desk(desk_parts, tmp_path / "b.duckdb", models=models, preparations=store).prepare(day)
    assert len(list(store.root.glob("*.pkl"))) == 2


def test_a_session_prepared_on_one_worker_is_read_from_the_s3_store_on_another(
    desk_parts, tmp_path, private_s3
):
    """The distributed profile's store: an object under the deployment's prefix, read back
    by a desk in another process (here another desk object) instead of prepared again;
    pruned to the newest KEEP_FILES; and a store that is down is an error, not a miss."""
    models = replace(desk_parts[0], versions=VERSIONS)
    store = PreparationStore("s3://quorum-tests/deployment/sessions", private_s3.url)
    desk = make_desk(desk_parts, tmp_path / "a.duckdb", models=models, preparations=store)
    day = desk.feed.sessions[0]
    prepared = desk.prepare(day)
    (key,) = private_s3.keys("quorum-tests", "deployment/")
    assert key.startswith(f"deployment/sessions/{day.isoformat()}-") and key.endswith(".pkl")

    other = PreparationStore("s3://quorum-tests/deployment/sessions", private_s3.url)
    other.save = lambda *_: pytest.fail("prepared again: the stored preparation was not read")
    again = make_desk(desk_parts, tmp_path / "b.duckdb", models=models, preparations=other)
    loaded = again.prepare(day)
    assert loaded is not prepared
    np.testing.assert_array_equal(loaded.risk.covariance, prepared.risk.covariance)

    written = [store.save(prepared, f"identity{i:02d}") for i in range(KEEP_FILES + 2)]
    # (pyarrow leaves an empty "sessions/" key behind a delete, S3's form of a folder)
    listed = private_s3.keys("quorum-tests", "deployment/sessions/")
    kept = [k for k in listed if k.endswith(".pkl")]
    assert len(kept) == KEEP_FILES
    assert written[-1].removeprefix("s3://quorum-tests/") in kept

    private_s3.stop()
    with pytest.raises(OSError):
        store.load(day, "identity00")
