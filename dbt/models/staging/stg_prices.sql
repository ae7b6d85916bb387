with source as (
    select * from {{ source('raw', 'prices') }}
),

deduplicated as (
    -- raw.prices has a primary key, but staging does not trust its inputs.
    select *
    from source
    qualify row_number() over (partition by symbol, date order by batch_id) = 1
),

final as (
    select
        cast(symbol as varchar) as symbol,
        cast(date as date) as date,
        cast(open as double) as open,
        cast(high as double) as high,
        cast(low as double) as low,
        cast(close as double) as close,
        cast(volume as double) as volume
    from deduplicated
)

select * from final
