"""The dbt feature marts on real prices: indicator definitions, no look-ahead, incrementality."""

import numpy as np
import pandas as pd
import pytest

from features.names import PRICE_VOLUME_FEATURES, TECHNICAL_FEATURES, VOLATILITY_FEATURES
from tests.conftest import Workspace, price_slice, write_prices

SYMBOLS = ["AAPL", "KO", "JPM", "XOM", "MSFT", "SP500"]
START, END = "2015-01-01", "2019-12-31"
# Every per-symbol feature the analyst is served (Alpha158-style ones included).
FEATURES = [*TECHNICAL_FEATURES, *VOLATILITY_FEATURES]


def features(workspace: Workspace) -> pd.DataFrame:
    return workspace.query("select * from marts.fct_daily_features order by symbol, date")


@pytest.fixture
def real_slice(sp500_prices) -> pd.DataFrame:
    return price_slice(sp500_prices, SYMBOLS, START, END)


def with_bars(closes: pd.DataFrame, seed: int = 11) -> pd.DataFrame:
    """Real closes with an open, high, low and volume around them (the embedded data have
    closes only), so the k-bar and volume features are computed, not missing."""
    rng = np.random.default_rng(seed)
    out = closes.copy()
    n = len(out)
    out["open"] = out["close"] * (1 + rng.normal(0, 0.005, n))
    top = np.maximum(out["open"], out["close"])
    bottom = np.minimum(out["open"], out["close"])
    out["high"] = top * (1 + rng.uniform(0, 0.01, n))
    out["low"] = bottom * (1 - rng.uniform(0, 0.01, n))
    out["volume"] = rng.integers(100_000, 5_000_000, n).astype(float)
    return out


def test_indicators_match_their_textbook_definitions_in_pandas(workspace, real_slice, tmp_path):
    workspace.materialize(f"csv:{write_prices(real_slice, tmp_path / 'p.csv')}", benchmark="SP500")
    built = features(workspace)
    assert set(built["symbol"]) == set(SYMBOLS) - {"SP500"}  # the index is not an asset
    msft = built[built["symbol"] == "MSFT"].reset_index(drop=True)
    close = real_slice[real_slice["symbol"] == "MSFT"]["close"].reset_index(drop=True)

    move = close.diff()
    gain = move.clip(lower=0).ewm(alpha=1 / 14).mean()
    loss = (-move).clip(lower=0).ewm(alpha=1 / 14).mean()
    rsi = 100 * gain / (gain + loss)
    macd = close.ewm(span=12).mean() - close.ewm(span=26).mean()
    macd[:25] = np.nan
    hist = (macd - macd.ewm(span=9).mean()) / close
    sma, sd = close.rolling(20).mean(), close.rolling(20).std(ddof=0)
    log_return = np.log(close).diff()
    expected = {
        "rsi_14": rsi,
        "macd_pct": macd / close,
        "bollinger_pct_b_20": (close - (sma - 2 * sd)) / (4 * sd),
        "realized_vol_21d": log_return.rolling(21).std() * np.sqrt(252),
        "momentum_12m": close.shift(21) / close.shift(252) - 1,
        "dist_sma_200": close / close.rolling(200).mean() - 1,
        # Alpha158-style close-only factors
        "return_5d": close / close.shift(5) - 1,
        "close_to_ma_5d": close / close.rolling(5).mean() - 1,
        "close_quantile_high_20d": close.rolling(20).quantile(0.8) / close - 1,
        "up_day_share_20d": (log_return > 0).astype(float).rolling(20).mean(),
        "trend_r2_20d": close.rolling(20).corr(pd.Series(np.arange(len(close)))) ** 2,
        "close_position_20d": (close - close.rolling(20).min())
        / (close.rolling(20).max() - close.rolling(20).min()),
    }
    # Past the warm-up the EMA-based ones agree to the truncation of the 200-row window.
    for name, values in expected.items():
        np.testing.assert_allclose(
            msft[name][300:], values[300:], rtol=1e-4, atol=1e-6, err_msg=name
        )
    np.testing.assert_allclose(msft["macd_hist_pct"][300:], hist[300:], atol=1e-6)
    assert msft["rsi_14"][:14].isna().all() and msft["dist_sma_200"][:199].isna().all()

    ranks = built[built["date"] == built["date"].max()].set_index("symbol")
    expected_rank = ranks["momentum_12m"].rank(method="min").sub(1).div(len(ranks) - 1)
    pd.testing.assert_series_equal(ranks["momentum_12m_rank"], expected_rank, check_names=False)


def test_no_feature_on_day_t_changes_when_every_later_price_is_altered(
    tmp_path, real_slice, monkeypatch
):
    cut = pd.Timestamp("2018-06-29")
    rng = np.random.default_rng(7)
    real_slice = with_bars(real_slice)
    altered = real_slice.copy()
    later = altered["date"] > cut
    altered.loc[later, "close"] *= rng.uniform(0.5, 1.5, later.sum())
    # new bars around the altered closes: ratios such as the k-bar shapes change too
    altered.loc[later] = with_bars(altered[later], seed=99)

    built = {}
    for name, frame in (("true", real_slice), ("altered", altered)):
        space = Workspace.prepare(tmp_path / name, monkeypatch.setenv)
        space.materialize(f"csv:{write_prices(frame, tmp_path / f'{name}.csv')}", benchmark="SP500")
        built[name] = features(space)

    rank_columns = [f"{f}_rank" for f in FEATURES]
    up_to_cut = {k: v[v["date"] <= cut].reset_index(drop=True) for k, v in built.items()}
    assert len(up_to_cut["true"]) > 0
    pd.testing.assert_frame_equal(
        up_to_cut["true"][["symbol", "date", *FEATURES, *rank_columns]],
        up_to_cut["altered"][["symbol", "date", *FEATURES, *rank_columns]],
        check_exact=False,
        rtol=1e-12,
    )
    # ...and the alteration did reach the features after the cut, so the test can fail.
    after = {k: v[v["date"] > cut] for k, v in built.items()}
    for name in ("rsi_14", *PRICE_VOLUME_FEATURES):
        assert after["true"][name].notna().any(), name  # computed, not missing throughout
        assert not np.allclose(after["true"][name], after["altered"][name], equal_nan=True), name


def test_incremental_build_equals_a_full_refresh(tmp_path, real_slice, monkeypatch):
    split = pd.Timestamp("2019-03-29")
    built = {}
    for name, batches in (
        ("incremental", [real_slice[real_slice["date"] <= split], real_slice]),
        ("full", [real_slice]),
    ):
        space = Workspace.prepare(tmp_path / name, monkeypatch.setenv)
        for i, batch in enumerate(batches):
            space.materialize(
                f"csv:{write_prices(batch, tmp_path / f'{name}{i}.csv')}", benchmark="SP500"
            )
        built[name] = features(space)
    pd.testing.assert_frame_equal(built["incremental"], built["full"], check_exact=False, rtol=1e-9)
    exported = pd.read_parquet(tmp_path / "incremental" / "exports" / "fct_daily_features.parquet")
    assert len(exported) == len(built["full"])
    assert exported["event_timestamp"].dt.hour.eq(21).all()


def test_forward_returns_are_labels_computed_from_later_closes(workspace, real_slice, tmp_path):
    workspace.materialize(f"csv:{write_prices(real_slice, tmp_path / 'p.csv')}", benchmark="SP500")
    labels = workspace.query(
        "select * from marts.fct_forward_returns where symbol = 'KO' order by date"
    )
    close = real_slice[real_slice["symbol"] == "KO"]["close"].reset_index(drop=True)
    np.testing.assert_allclose(labels["forward_return_5d"], close.shift(-5) / close - 1)
    assert labels["forward_return_21d"].tail(21).isna().all()
    index = real_slice[real_slice["symbol"] == "SP500"]["close"].reset_index(drop=True)
    np.testing.assert_allclose(
        labels["forward_excess_return_1d"],
        (close.shift(-1) / close) - (index.shift(-1) / index),
        atol=1e-12,
    )
