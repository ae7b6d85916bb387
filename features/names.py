"""The names every agent reads: feature lists, the sequence windows' columns and the feature
services. No Feast import, so the code location and the decision path can name features
without loading Feast (``features.definitions`` builds Feast's objects from these names).
"""

from datetime import timedelta

DAILY_TTL = timedelta(days=5)
MARKET_KEY = "market"  # the one entity key of the market-wide features (market_id)

INDICATOR_FEATURES = [
    "rsi_14",
    "macd_pct",
    "macd_hist_pct",
    "bollinger_pct_b_20",
    "momentum_1m",
    "momentum_3m",
    "momentum_6m",
    "momentum_12m",
    "dist_sma_50",
    "dist_sma_200",
    "volume_zscore_21d",
]
# Price-volume factors in the spirit of qlib's Alpha158 (k-bar shapes, position in the
# 20-day range, rolling quantiles, price-volume correlations, moving-average ratios, trend
# slope and fit, up-day share, days since the high and low), computed in dbt like the rest.
# The k-bar and volume factors need open, high, low and volume: on a file of closes only
# (the embedded S&P 500 data) they are missing, and the models treat them as such.
PRICE_VOLUME_FEATURES = [
    "return_1d",
    "kbar_body",
    "kbar_range",
    "kbar_upper_shadow",
    "kbar_lower_shadow",
    "kbar_close_position",
    "close_position_20d",
    "close_quantile_high_20d",
    "close_quantile_low_20d",
    "corr_close_volume_20d",
    "corr_return_volume_change_20d",
    "return_5d",
    "close_to_ma_5d",
    "close_to_ma_10d",
    "close_to_ma_20d",
    "volatility_5d",
    "trend_slope_20d",
    "trend_r2_20d",
    "up_day_share_20d",
    "days_since_high_20d",
    "days_since_low_20d",
    "max_return_21d",
    "return_skew_63d",
]
TECHNICAL_FEATURES = [*INDICATOR_FEATURES, *PRICE_VOLUME_FEATURES]
VOLATILITY_FEATURES = ["realized_vol_21d", "realized_vol_63d"]
MARKET_FEATURES = [
    "market_return_1d",
    "market_vol_21d",
    "market_vol_63d",
    "market_drawdown",
    "market_dist_sma_200",
    "market_momentum_12m",
    "market_dispersion_21d",
]


def ranked(names: list[str]) -> list[str]:
    """Each feature and its cross-sectional rank column."""
    return [*names, *(f"{name}_rank" for name in names)]


# The market analyst's features in its service's order. The online read path serves them
# packed into one Array(Float64) per symbol (view ANALYST_VECTOR_VIEW): one value to
# read and parse per symbol instead of one per feature, ~15x faster for 500 symbols.
ANALYST_FEATURES = [
    *ranked(TECHNICAL_FEATURES),
    *ranked(VOLATILITY_FEATURES),
    *MARKET_FEATURES,
]
# The sequence models' inputs: the last SEQUENCE_DAYS closes of a few per-symbol features,
# served beside the features (lag 0 is today's value, lag k the value k of the symbol's own
# trading days earlier), so a decision reads its whole window in the same online read.
SEQUENCE_FEATURES = [
    "return_1d",
    "return_1d_rank",
    "close_to_ma_5d_rank",
    "close_to_ma_20d_rank",
    "close_position_20d_rank",
    "volatility_5d_rank",
    "kbar_body_rank",
    "volume_zscore_21d_rank",
]
SEQUENCE_DAYS = 20
SEQUENCE_COLUMNS = [
    f"{name}_lag{lag}" for lag in range(SEQUENCE_DAYS - 1, -1, -1) for name in SEQUENCE_FEATURES
]
# What the analyst is served per symbol: the features, then the windows (oldest day first).
ANALYST_INPUTS = [*ANALYST_FEATURES, *SEQUENCE_COLUMNS]
# One name per agent's feature service: a model records the exact service it was trained on.
ANALYST_SERVICE = "market_analyst_v2"
RISK_SERVICE = "risk_manager_v1"
OPTIMIZER_SERVICE = "portfolio_optimizer_v1"
EXECUTION_SERVICE = "execution_v1"
ANALYST_VECTOR_VIEW = f"{ANALYST_SERVICE}_vector"
PACKED_SERVICES = {ANALYST_SERVICE: (ANALYST_VECTOR_VIEW, ANALYST_INPUTS)}
