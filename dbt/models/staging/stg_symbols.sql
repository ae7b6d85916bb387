with symbols as (
    select * from {{ source('raw', 'symbols') }}
),

sectors as (
    select * from {{ ref('symbol_sectors') }}
),

final as (
    select
        symbols.symbol,
        symbols.role,
        coalesce(sectors.sector, case when symbols.role = 'benchmark' then 'Index' else 'Unknown' end) as sector
    from symbols
    left join sectors using (symbol)
)

select * from final
