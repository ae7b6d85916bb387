{{
    config(
        materialized='incremental',
        unique_key=['symbol', 'date'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}

-- Technical features per asset per day. Every window looks only backwards (rows ... preceding
-- and current row, lag), so a feature on day t uses prices up to t and nothing later.
-- event_timestamp is 21:00 UTC of the day: after the NYSE close in summer and winter time.

{%- set ranked = [
    'rsi_14', 'macd_pct', 'macd_hist_pct', 'bollinger_pct_b_20',
    'realized_vol_21d', 'realized_vol_63d',
    'momentum_1m', 'momentum_3m', 'momentum_6m', 'momentum_12m',
    'dist_sma_50', 'dist_sma_200', 'volume_zscore_21d',
    'return_1d', 'kbar_body', 'kbar_range', 'kbar_upper_shadow', 'kbar_lower_shadow',
    'kbar_close_position', 'close_position_20d', 'close_quantile_high_20d',
    'close_quantile_low_20d', 'corr_close_volume_20d', 'corr_return_volume_change_20d',
    'return_5d', 'close_to_ma_5d', 'close_to_ma_10d', 'close_to_ma_20d', 'volatility_5d',
    'trend_slope_20d', 'trend_r2_20d', 'up_day_share_20d', 'days_since_high_20d',
    'days_since_low_20d', 'max_return_21d', 'return_skew_63d',
] %}

with daily as (
    select * from {{ ref('int_daily_returns') }} where role = 'asset'
),

{% if is_incremental() %}
-- Recompute every date after the oldest symbol's newest stored date (a symbol new to the
-- table counts as having none), with enough earlier rows for the longest look-back.
stored as (
    select symbol, max(date) as newest_date from {{ this }} group by symbol
),

cutoff as (
    select min(coalesce(stored.newest_date, date '1800-01-01')) as newest_date
    from (select distinct symbol from daily) as symbols
    left join stored using (symbol)
),

first_new_row as (
    select symbol, min(day_index) as day_index
    from daily
    where date > (select newest_date from cutoff)
    group by symbol
),

scoped as (
    select daily.*
    from daily
    inner join first_new_row using (symbol)
    where daily.day_index >= first_new_row.day_index - {{ var('incremental_lookback_rows') }}
),
{% else %}
scoped as (
    select * from daily
),
{% endif %}

moves as (
    -- only the columns the features read: the EMA passes copy rows between blocks
    select
        symbol,
        date,
        sector,
        day_index,
        open,
        high,
        low,
        close,
        log_return,
        simple_return,
        volume,
        -- ln(1 + volume): a zero-volume day stays finite; the change is Alpha158's CORD input
        ln(1 + volume) as log_volume,
        ln(1 + volume) - lag(ln(1 + volume)) over (partition by symbol order by day_index)
            as log_volume_change,
        greatest(close - previous_close, 0) as gain,
        greatest(previous_close - close, 0) as loss
    from scoped
),

smoothed as (
    select * from {{ exp_smoothed('moves', [
        ['gain', 1 / 14, 'avg_gain_14'],
        ['loss', 1 / 14, 'avg_loss_14'],
        ['close', 2 / 13, 'ema_12', 'dense'],
        ['close', 2 / 27, 'ema_26', 'dense'],
    ]) }}
),

with_macd as (
    select *, case when day_index >= 25 then ema_12 - ema_26 end as macd
    from smoothed
),

with_signal as (
    select * from {{ exp_smoothed('with_macd', [['macd', 2 / 10, 'macd_signal']]) }}
),

windows as (
    select
        *,
        avg(close) over last_20 as sma_20,
        stddev_pop(close) over last_20 as sd_20,
        avg(close) over last_50 as sma_50,
        avg(close) over last_200 as sma_200,
        stddev_samp(log_return) over last_21 as sd_log_return_21,
        stddev_samp(log_return) over last_63 as sd_log_return_63,
        count(log_return) over last_63 as n_log_return_63,
        avg(volume) over last_21 as avg_volume_21,
        stddev_samp(volume) over last_21 as sd_volume_21,
        count(volume) over last_21 as n_volume_21,
        -- qlib Alpha158-style price-volume windows (RSV20, QTLU20, QTLD20, CORR20, CORD20);
        -- a file of closes only has no high or low: the range is then the closes' range.
        min(coalesce(low, close)) over last_20 as low_20,
        max(coalesce(high, close)) over last_20 as high_20,
        avg(close) over last_5 as ma_5,
        avg(close) over last_10 as ma_10,
        stddev_samp(log_return) over last_5 as sd_log_return_5,
        regr_slope(close, day_index) over last_20 as slope_20,
        regr_r2(close, day_index) over last_20 as r2_20,
        avg(case when log_return > 0 then 1.0 when log_return <= 0 then 0.0 end) over last_20
            as up_share_20,
        arg_max(day_index, close) over last_20 as high_day_20,
        arg_min(day_index, close) over last_20 as low_day_20,
        max(simple_return) over last_21 as max_return_21,
        skewness(log_return) over last_63 as skew_63,
        lag(close, 5) over by_symbol as close_5d_ago,
        quantile_cont(close, 0.8) over last_20 as close_q80_20,
        quantile_cont(close, 0.2) over last_20 as close_q20_20,
        corr(close, log_volume) over last_20 as corr_close_volume_20,
        corr(simple_return, log_volume_change) over last_20 as corr_return_volume_20,
        lag(close, 21) over by_symbol as close_21d_ago,
        lag(close, 63) over by_symbol as close_63d_ago,
        lag(close, 126) over by_symbol as close_126d_ago,
        lag(close, 252) over by_symbol as close_252d_ago
    from with_signal
    window
        by_symbol as (partition by symbol order by day_index),
        last_5 as (partition by symbol order by day_index rows between 4 preceding and current row),
        last_10 as (partition by symbol order by day_index rows between 9 preceding and current row),
        last_20 as (partition by symbol order by day_index rows between 19 preceding and current row),
        last_21 as (partition by symbol order by day_index rows between 20 preceding and current row),
        last_50 as (partition by symbol order by day_index rows between 49 preceding and current row),
        last_63 as (partition by symbol order by day_index rows between 62 preceding and current row),
        last_200 as (partition by symbol order by day_index rows between 199 preceding and current row)
),

features as materialized (
    select
        row_number() over () as row_id,
        symbol,
        date,
        cast(date as timestamp) + interval 21 hours as event_timestamp,
        sector,
        day_index,
        close,
        case when day_index >= 14 and avg_gain_14 + avg_loss_14 > 0
            then 100 * avg_gain_14 / (avg_gain_14 + avg_loss_14) end as rsi_14,
        macd / close as macd_pct,
        case when day_index >= 33 then (macd - macd_signal) / close end as macd_hist_pct,
        case when day_index >= 19 and sd_20 > 0
            then (close - (sma_20 - 2 * sd_20)) / (4 * sd_20) end as bollinger_pct_b_20,
        case when day_index >= 21 then sd_log_return_21 * sqrt(252) end as realized_vol_21d,
        case when n_log_return_63 = 63 then sd_log_return_63 * sqrt(252) end as realized_vol_63d,
        -- 1-month momentum is the short-term reversal signal and cannot skip its own month;
        -- the longer horizons skip the most recent month (t-21), as in Jegadeesh-Titman 12-1.
        close / close_21d_ago - 1 as momentum_1m,
        close_21d_ago / close_63d_ago - 1 as momentum_3m,
        close_21d_ago / close_126d_ago - 1 as momentum_6m,
        close_21d_ago / close_252d_ago - 1 as momentum_12m,
        case when day_index >= 49 then close / sma_50 - 1 end as dist_sma_50,
        case when day_index >= 199 then close / sma_200 - 1 end as dist_sma_200,
        case when n_volume_21 = 21 and sd_volume_21 > 0
            then (volume - avg_volume_21) / sd_volume_21 end as volume_zscore_21d,
        simple_return as return_1d,
        -- k-bar shapes (Alpha158's KMID, KLEN, KUP, KLOW, KSFT): the day's candle relative
        -- to its open; a bar with no range has no close position.
        case when open > 0 then close / open - 1 end as kbar_body,
        case when open > 0 then (high - low) / open end as kbar_range,
        case when open > 0 then (high - greatest(open, close)) / open end as kbar_upper_shadow,
        case when open > 0 then (least(open, close) - low) / open end as kbar_lower_shadow,
        case when high > low then (2 * close - high - low) / (high - low) end
            as kbar_close_position,
        case when day_index >= 19 and high_20 > low_20
            then (close - low_20) / (high_20 - low_20) end as close_position_20d,
        case when day_index >= 19 then close_q80_20 / close - 1 end as close_quantile_high_20d,
        case when day_index >= 19 then close_q20_20 / close - 1 end as close_quantile_low_20d,
        case when day_index >= 19 then corr_close_volume_20 end as corr_close_volume_20d,
        case when day_index >= 20 then corr_return_volume_20 end
            as corr_return_volume_change_20d,
        -- close-only factors (Alpha158's ROC5, MA5/10/20, STD5, BETA20, RSQR20, CNTP20,
        -- IMAX20, IMIN20) and the lottery (MAX) and skewness effects
        close / close_5d_ago - 1 as return_5d,
        case when day_index >= 4 then close / ma_5 - 1 end as close_to_ma_5d,
        case when day_index >= 9 then close / ma_10 - 1 end as close_to_ma_10d,
        case when day_index >= 19 then close / sma_20 - 1 end as close_to_ma_20d,
        case when day_index >= 5 then sd_log_return_5 * sqrt(252) end as volatility_5d,
        case when day_index >= 19 then slope_20 / close end as trend_slope_20d,
        case when day_index >= 19 then r2_20 end as trend_r2_20d,
        case when day_index >= 20 then up_share_20 end as up_day_share_20d,
        case when day_index >= 19 then (day_index - high_day_20) / 19.0 end
            as days_since_high_20d,
        case when day_index >= 19 then (day_index - low_day_20) / 19.0 end as days_since_low_20d,
        case when day_index >= 21 then max_return_21 end as max_return_21d,
        case when n_log_return_63 = 63 then skew_63 end as return_skew_63d
    from windows
),

{% for feature in ranked %}
-- Percentile of {{ feature }} among the assets that have it that day: (rank - 1) / (n - 1),
-- 0 lowest, 1 highest, 0 when only one asset has it. One narrow pass per feature: sorting
-- (row_id, date, value) is several times cheaper than sorting the whole wide row each time.
rank_{{ feature }} as (
    select
        row_id,
        percent_rank() over by_date as pct
    from features
    where {{ feature }} is not null
    window by_date as (partition by date order by {{ feature }})
),

{% endfor %}
ranked as (
    select
        features.* exclude (row_id),
        {%- for feature in ranked %}
        rank_{{ feature }}.pct as {{ feature }}_rank{{ "," if not loop.last }}
        {%- endfor %}
    from features
    {%- for feature in ranked %}
    left join rank_{{ feature }} using (row_id)
    {%- endfor %}
),

final as (
    select * from ranked
    {% if is_incremental() %}
    where date > (select newest_date from cutoff)
    {% endif %}
)

select * from final
