-- Market-level features per day (the benchmark index, or the equal-weight market), for the
-- regime model and as context for every symbol. Backward-looking windows only.
with market as (
    select * from {{ ref('int_market_returns') }}
),

windows as (
    select
        *,
        stddev_samp(market_log_return) over last_21 * sqrt(252) as market_vol_21d,
        stddev_samp(market_log_return) over last_63 * sqrt(252) as market_vol_63d,
        max(market_log_level) over (order by date) as market_log_peak,
        avg(exp(market_log_level)) over last_200 as market_sma_200,
        lag(market_log_level, 21) over (order by date) as level_21d_ago,
        lag(market_log_level, 252) over (order by date) as level_252d_ago,
        avg(cross_sectional_dispersion) over last_21 as dispersion_21d
    from market
    window
        last_21 as (order by date rows between 20 preceding and current row),
        last_63 as (order by date rows between 62 preceding and current row),
        last_200 as (order by date rows between 199 preceding and current row)
),

final as (
    select
        date,
        cast(date as timestamp) + interval 21 hours as event_timestamp,
        'market' as market_id,
        market_return as market_return_1d,
        case when day_index >= 21 then market_vol_21d end as market_vol_21d,
        case when day_index >= 63 then market_vol_63d end as market_vol_63d,
        exp(market_log_level - market_log_peak) - 1 as market_drawdown,
        case when day_index >= 199 then exp(market_log_level) / market_sma_200 - 1 end as market_dist_sma_200,
        exp(level_21d_ago - level_252d_ago) - 1 as market_momentum_12m,
        dispersion_21d as market_dispersion_21d,
        assets_trading
    from windows
)

select * from final
