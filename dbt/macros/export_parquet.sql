{#- Post-hook of every mart: a Parquet copy under QUORUM_EXPORTS for Feast's offline store. -#}
{% macro export_parquet() -%}
    copy {{ this }} to '{{ env_var("QUORUM_EXPORTS") }}/{{ this.identifier }}.parquet' (format parquet)
{%- endmacro %}
