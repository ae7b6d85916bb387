-- Labels, kept apart from the features so no feature can read them. The forward return
-- from the close of day t to the close of day t+h; excess = minus the market's over the
-- same days. The last h days of each symbol have no label yet (null) until they mature.
with daily as (
    select * from {{ ref('int_daily_returns') }} where role = 'asset'
),

market_forward as (
    -- once per day, not once per symbol row
    select
        date,
        {%- for h in [1, 5, 21] %}
        exp(lead(market_log_level, {{ h }}) over (order by date) - market_log_level) - 1
            as market_forward_return_{{ h }}d{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('int_market_returns') }}
),

forward as (
    select
        daily.symbol,
        daily.date,
        {%- for h in [1, 5, 21] %}
        lead(daily.close, {{ h }}) over by_symbol / daily.close - 1 as forward_return_{{ h }}d,
        market_forward.market_forward_return_{{ h }}d{{ "," if not loop.last }}
        {%- endfor %}
    from daily
    inner join market_forward using (date)
    window by_symbol as (partition by daily.symbol order by daily.date)
),

final as (
    select
        symbol,
        date,
        cast(date as timestamp) + interval 21 hours as event_timestamp,
        {%- for h in [1, 5, 21] %}
        forward_return_{{ h }}d,
        forward_return_{{ h }}d - market_forward_return_{{ h }}d as forward_excess_return_{{ h }}d{{ "," if not loop.last }}
        {%- endfor %}
    from forward
)

select * from final
