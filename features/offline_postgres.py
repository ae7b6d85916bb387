"""The dbt exports as PostgreSQL tables, for Feast's PostgreSQL offline store.

Feast's DuckDB offline store reads its sources with ibis, which loads DuckDB's ``httpfs``
extension for any ``s3://`` path, and this lock's DuckDB 2.0 cannot load it offline
(docs/operations.md). PostgreSQL is a server every worker reaches, so a profile whose steps
must not read each other's disks can give Feast the same tables there: ``load_exports`` copies
each exported mart into one schema, and ``build_definitions(..., offline_schema=...)`` points
the feature views at them. No Dagster import.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from features.parquet_store import ParquetStore, resolve

# Arrow's types in the exports, and the PostgreSQL types Feast's offline store maps back to
# the feature views' Float64, Int64, String and Array(Float64).
_SCALARS = (
    (pa.types.is_floating, "double precision"),
    (pa.types.is_integer, "bigint"),
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_string, "text"),
    (pa.types.is_large_string, "text"),
    (pa.types.is_date, "date"),
)


def postgres_type(field: pa.Field, source: str) -> str:
    """The column type for one exported field; ValueError naming the file and the field
    for a type the exports never hold (a new mart's column must be added here first)."""
    kind = field.type
    if pa.types.is_timestamp(kind):
        return "timestamptz" if kind.tz else "timestamp"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"{postgres_type(pa.field(field.name, kind.value_type), source)}[]"
    for matches, name in _SCALARS:
        if matches(kind):
            return name
    raise ValueError(f"{source}: column {field.name!r} has type {kind}, which has no mapping")


def load_exports(
    exports: ParquetStore, names: Sequence[str], conninfo: str, schema: str
) -> dict[str, int]:
    """Copies each exported table ``name`` (a folder's or an S3 prefix's ``<name>.parquet``)
    into ``schema.<name>`` and returns the rows per table. Each table is replaced in one
    transaction: the offline store's readers see the last whole table or the new one, never a
    part; a failure leaves the last one in place."""
    import psycopg
    from psycopg import sql

    tables = {name: _read_table(exports, name) for name in names}
    loaded: dict[str, int] = {}
    with psycopg.connect(conninfo) as connection:
        connection.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        connection.commit()
        for name, table in tables.items():
            with connection.transaction():
                _replace(connection, schema, name, table, exports.uri(name))
            loaded[name] = table.num_rows
    return loaded


def _read_table(exports: ParquetStore, name: str) -> pa.Table:
    if not exports.exists(name):
        raise FileNotFoundError(f"no exported table at {exports.uri(name)}")
    filesystem, path = resolve(exports.uri(name), exports.endpoint_url)
    return pq.read_table(path, filesystem=filesystem)


def _replace(connection, schema: str, name: str, table: pa.Table, source: str) -> None:
    from psycopg import sql

    target = sql.Identifier(schema, name)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(field.name), sql.SQL(postgres_type(field, source)))
        for field in table.schema
    )
    connection.execute(sql.SQL("drop table if exists {}").format(target))
    connection.execute(sql.SQL("create table {} ({})").format(target, columns))
    names = sql.SQL(", ").join(sql.Identifier(n) for n in table.column_names)
    with connection.cursor().copy(sql.SQL("copy {} ({}) from stdin").format(target, names)) as copy:
        for batch in table.to_batches(max_chunksize=50_000):
            for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                copy.write_row(row)
