{#-
    Exponential moving averages as plain window sums, so DuckDB computes each one in a
    single pass instead of a row-by-row recursion.

    EMA_t = sum_s b^(t-s) x_s / sum_s b^(t-s) over the last `horizon` rows, with b = 1 - alpha:
    pandas' ewm(alpha=..., adjust=True) truncated where the weights fall below b^horizon
    (3e-7 for Wilder's alpha = 1/14 at horizon 200). Nulls drop out of both sums.

    The weights b^(c-s) would overflow a double over 30 years of rows, so rows are cut into
    blocks of `block` rows, each with its own anchor c = block start. A row's window may reach
    back into the previous block, so the last `horizon` rows of every block are copied into
    the next one and weighted against that block's anchor. The anchors cancel in the ratio.

    columns: list of [value_expression, alpha, output_name] or, for a value that is never
    null, [value_expression, alpha, output_name, 'dense']: its weights' sum is then the
    geometric series over the frame's min(horizon, day) + 1 rows, in closed form, which saves
    one window sum. (Rows whose frame is cut short, the first of an incremental scope, feed no
    output row: the scope's look-back covers two horizons.)
-#}
{% macro exp_smoothed(relation, columns, partition_by='symbol', order_by='day_index', horizon=var('ema_horizon'), block=1000) -%}
    {%- for column in columns -%}
        {%- set alpha, name = column[1], column[2] -%}
        {#- -ln(1 - alpha) <= alpha / (1 - alpha): a safe bound on the largest exponent -#}
        {%- if block * alpha / (1 - alpha) > 700 -%}
            {{ exceptions.raise_compiler_error("exp_smoothed: alpha " ~ alpha ~ " overflows at block " ~ block ~ "; use a smaller block") }}
        {%- endif -%}
    {%- endfor -%}
    (
        with blocked as (
            select r.*, r.{{ order_by }} // {{ block }} + shift.n as ema_block
            from {{ relation }} as r
            cross join (values (0), (1)) as shift(n)
            where shift.n = 0 or r.{{ order_by }} % {{ block }} >= {{ block - horizon }}
        ),

        summed as (
            select
                blocked.*,
                {%- for column in columns %}
                {%- set value, alpha, name = column[0], column[1], column[2] %}
                sum(({{ value }}) * pow({{ 1 - alpha }}, ema_block * {{ block }} - {{ order_by }})) over ema_window as ema_num_{{ name }},
                {%- if column | length > 3 and column[3] == 'dense' %}
                pow({{ 1 - alpha }}, ema_block * {{ block }} - {{ order_by }})
                    * (1 - pow({{ 1 - alpha }}, least({{ horizon }}, {{ order_by }}) + 1)) / {{ alpha }}
                    as ema_den_{{ name }}{{ "," if not loop.last }}
                {%- else %}
                sum(case when ({{ value }}) is not null then pow({{ 1 - alpha }}, ema_block * {{ block }} - {{ order_by }}) end) over ema_window as ema_den_{{ name }}{{ "," if not loop.last }}
                {%- endif %}
                {%- endfor %}
            from blocked
            window ema_window as (
                partition by {{ partition_by }}, ema_block
                order by {{ order_by }}
                rows between {{ horizon }} preceding and current row
            )
        )

        select
            * exclude (ema_block{% for column in columns %}, ema_num_{{ column[2] }}, ema_den_{{ column[2] }}{% endfor %}),
            {%- for column in columns %}{% set name = column[2] %}
            ema_num_{{ name }} / ema_den_{{ name }} as {{ name }}{{ "," if not loop.last }}
            {%- endfor %}
        from summed
        where {{ order_by }} // {{ block }} = ema_block
    )
{%- endmacro %}
