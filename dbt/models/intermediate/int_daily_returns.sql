-- Returns and a per-symbol trading-day counter. day_index numbers a symbol's own rows
-- (0 = first day), so every window downstream is counted in that symbol's trading days.
with prices as (
    select * from {{ ref('stg_prices') }}
),

symbols as (
    select * from {{ ref('stg_symbols') }}
),

returns as (
    select
        prices.*,
        symbols.role,
        symbols.sector,
        row_number() over by_symbol - 1 as day_index,
        lag(close) over by_symbol as previous_close,
        lag(date) over by_symbol as previous_date
    from prices
    inner join symbols using (symbol)
    window by_symbol as (partition by prices.symbol order by prices.date)
),

final as (
    select
        symbol,
        date,
        role,
        sector,
        day_index,
        open,
        high,
        low,
        close,
        volume,
        previous_close,
        close / previous_close - 1 as simple_return,
        ln(close / previous_close) as log_return,
        date - previous_date as calendar_days_since_previous,
        year(date) as year,
        month(date) as month,
        dayofweek(date) as day_of_week
    from returns
)

select * from final
