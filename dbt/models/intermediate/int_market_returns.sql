-- The market's daily return: the benchmark index where the data have one, otherwise the
-- equal-weighted average of the assets, so a user's file without an index still has a market.
with daily as (
    select * from {{ ref('int_daily_returns') }}
),

has_benchmark as (
    select count(*) > 0 as yes from daily where role = 'benchmark'
),

benchmark as (
    select date, simple_return, close
    from daily
    where role = 'benchmark'
),

equal_weight as (
    select date, avg(simple_return) as simple_return, null::double as close
    from daily
    where role = 'asset'
    group by date
),

dispersion as (
    select date, stddev_samp(simple_return) as cross_sectional_dispersion, count(*) as assets_trading
    from daily
    where role = 'asset'
    group by date
),

chosen as (
    select * from benchmark where (select yes from has_benchmark)
    union all
    select * from equal_weight where not (select yes from has_benchmark)
),

final as (
    select
        chosen.date,
        coalesce(chosen.simple_return, 0) as market_return,
        ln(1 + coalesce(chosen.simple_return, 0)) as market_log_return,
        sum(ln(1 + coalesce(chosen.simple_return, 0))) over (order by chosen.date) as market_log_level,
        row_number() over (order by chosen.date) - 1 as day_index,
        dispersion.cross_sectional_dispersion,
        dispersion.assets_trading
    from chosen
    left join dispersion using (date)
)

select * from final
