"""Feast over the dbt marts (embedded profile), through Dagster, on a small real slice."""

from datetime import timedelta

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from feast.protos.feast.types.Value_pb2 import DoubleList

from features.names import (
    ANALYST_FEATURES,
    ANALYST_INPUTS,
    SEQUENCE_COLUMNS,
    TECHNICAL_FEATURES,
)
from features.sequences import with_sequence_windows
from features.store import OnlineFeatureReader, packed_doubles, push_intraday
from features.training import build_training_set, label_rows
from features.vectors import analyst_feature_rows


@pytest.fixture(scope="module")
def built(daily_graph):
    return daily_graph


# 16 values are the first whose byte length takes a two-byte varint, 20,000 a three-byte one
@pytest.mark.parametrize("count", [0, 1, 15, 16, 239, 20_000])
def test_packed_doubles_reads_every_value_bit_for_bit_as_the_message_holds_it(count):
    rng = np.random.default_rng(count)
    values = rng.normal(size=count) * 10.0 ** rng.integers(-300, 300, size=count)
    special = [np.nan, np.inf, -np.inf, -0.0, 5e-324]  # 5e-324: the smallest subnormal
    values[: min(count, len(special))] = special[: min(count, len(special))]
    message = DoubleList()
    message.ParseFromString(DoubleList(val=values.tolist()).SerializeToString())
    read = packed_doubles(message)
    assert read.dtype == np.float64 and read.shape == (count,)
    assert read.tobytes() == np.array(list(message.val), dtype=float).tobytes()


def test_daily_graph_materializes_registry_online_store_and_training_set(built):
    _, result, store = built
    keys = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"feast_registry", "online_features", "training_set"} <= keys
    (training,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("training_set")
    ]
    metadata = training.materialization.metadata
    frame = pd.read_parquet(metadata["path"].value)
    assert metadata["dagster/row_count"].value == len(frame) > 0
    assert metadata["last_event_timestamp"].value == str(frame["event_timestamp"].max())
    assert {v.name for v in store.list_feature_views()} >= {
        "technical_indicators",
        "volatility_risk",
        "market_context",
        "market_analyst_v2_vector",
    }
    assert {s.name for s in store.list_feature_services()} >= {
        "market_analyst_v2",
        "risk_manager_v1",
        "portfolio_optimizer_v1",
        "execution_v1",
    }


def test_training_rows_take_the_newest_feature_at_or_before_their_own_time(built):
    space, _, store = built
    features = pd.read_parquet(space.exports / "fct_daily_features.parquet")
    aapl = features[features["symbol"] == "AAPL"].sort_values("event_timestamp")
    day, next_day = aapl.iloc[300], aapl.iloc[301]
    # An entity row 1 hour before the next day's features are stamped must get `day`'s values.
    rows = pd.DataFrame(
        {
            "symbol": ["AAPL", "AAPL"],
            "market_id": ["market", "market"],
            "event_timestamp": [
                next_day["event_timestamp"] - pd.Timedelta(hours=1),
                next_day["event_timestamp"],
            ],
        }
    )
    joined = build_training_set(store, "market_analyst_v2", rows)
    assert joined.loc[0, "rsi_14"] == pytest.approx(day["rsi_14"])
    assert joined.loc[1, "rsi_14"] == pytest.approx(next_day["rsi_14"])
    assert day["rsi_14"] != next_day["rsi_14"]  # so the assertion above can fail


def test_labels_never_see_features_stamped_after_them(built):
    space, _, store = built
    labels = label_rows(space.export_store).sample(200, random_state=3)
    joined = build_training_set(store, "market_analyst_v2", labels)
    features = pd.read_parquet(space.exports / "fct_daily_features.parquet")
    features["event_timestamp"] = features["event_timestamp"].dt.tz_localize("UTC")  # as Feast
    # Every label row sits on a feature timestamp: the join must return that row's values,
    # not the next day's (stamped later) nor an earlier one.
    expected = joined[["symbol", "event_timestamp"]].merge(
        features[["symbol", "event_timestamp", "momentum_3m"]], how="left"
    )
    np.testing.assert_allclose(joined["momentum_3m"], expected["momentum_3m"])


def test_features_older_than_the_ttl_are_missing_offline_and_online(built):
    space, _, store = built
    features = pd.read_parquet(space.exports / "fct_daily_features.parquet")
    newest = features["event_timestamp"].max()
    rows = pd.DataFrame(
        {
            "symbol": ["JNJ", "JNJ"],
            "market_id": ["market", "market"],
            "event_timestamp": [newest + pd.Timedelta(days=4), newest + pd.Timedelta(days=6)],
        }
    )
    joined = build_training_set(store, "market_analyst_v2", rows)
    assert not np.isnan(joined.loc[0, "rsi_14"])  # within the 5-day TTL
    assert pd.isna(joined.loc[1, "rsi_14"])  # beyond it
    reader = OnlineFeatureReader(store, "market_analyst_v2")
    fresh = reader.read(
        ["JNJ"], as_of=newest.to_pydatetime().replace(tzinfo=None) + timedelta(days=4)
    )
    stale = reader.read(
        ["JNJ"], as_of=newest.to_pydatetime().replace(tzinfo=None) + timedelta(days=6)
    )
    assert np.isfinite(fresh.values).any() and np.isnan(stale.values).all()


def test_online_values_equal_offline_values_for_the_same_symbol_and_time(built):
    space, _, store = built
    features = pd.read_parquet(space.exports / "fct_daily_features.parquet")
    newest = features["event_timestamp"].max()
    symbols = ["AAPL", "JNJ", "CVX"]
    offline = build_training_set(
        store,
        "market_analyst_v2",
        pd.DataFrame({"symbol": symbols, "market_id": "market", "event_timestamp": newest}),
    )
    offline = offline.set_index("symbol").loc[symbols, ANALYST_FEATURES].to_numpy(dtype=float)
    reader = OnlineFeatureReader(store, "market_analyst_v2")
    online = reader.read(symbols, as_of=newest.to_pydatetime().replace(tzinfo=None))
    assert online.features == ANALYST_INPUTS
    served = online.values[:, : len(ANALYST_FEATURES)]
    np.testing.assert_allclose(served, offline, equal_nan=True)
    # the served windows are the ones training builds from the same rows
    windows = with_sequence_windows(analyst_feature_rows(space.export_store))
    stamp = pd.Timestamp(newest)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    windows = windows[windows["event_timestamp"] == stamp].set_index("symbol")
    np.testing.assert_allclose(
        online.values[:, len(ANALYST_FEATURES) :],
        windows.loc[symbols, SEQUENCE_COLUMNS].to_numpy(dtype=float),
        equal_nan=True,
    )
    assert np.isfinite(online.values[:, len(ANALYST_FEATURES) :]).any()
    plain = (
        store.get_online_features(
            features=store.get_feature_service("market_analyst_v2"),
            entity_rows=[{"symbol": s, "market_id": "market"} for s in symbols],
        )
        .to_df()
        .set_index("symbol")
        .loc[symbols, ANALYST_FEATURES]
        .to_numpy(dtype=float)
    )
    np.testing.assert_allclose(served, plain, equal_nan=True)


def test_intraday_push_reaches_both_read_paths_without_materialization(built):
    space, _, store = built
    reader = OnlineFeatureReader(store, "market_analyst_v2")
    features = pd.read_parquet(space.exports / "fct_daily_features.parquet")
    bar_time = features["event_timestamp"].max() + pd.Timedelta(hours=14)  # next day, 11:00 ET
    before = reader.read(["CVX"], as_of=bar_time.to_pydatetime().replace(tzinfo=None))
    bar = pd.DataFrame(before.values, columns=ANALYST_INPUTS).assign(
        symbol="CVX", event_timestamp=bar_time
    )
    bar["rsi_14"] = 12.5  # a bar-level value no daily row has
    push_intraday(store, bar)
    after = reader.read(["CVX"], as_of=bar_time.to_pydatetime().replace(tzinfo=None))
    assert after.to_frame().loc["CVX", "rsi_14"] == 12.5
    assert after.newest_timestamp == bar_time.to_pydatetime().replace(tzinfo=None)
    plain = store.get_online_features(
        features=[f"technical_indicators:{f}" for f in TECHNICAL_FEATURES],
        entity_rows=[{"symbol": "CVX"}],
    ).to_dict()
    assert plain["rsi_14"] == [12.5]
