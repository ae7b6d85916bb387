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
import pyarrow.compute as pc
import pyarrow.csv as pcsv
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


COPY_BATCH_ROWS = 10_000  # about 36 MB of the analyst's vectors as text at once


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
    statement = sql.SQL("copy {} ({}) from stdin (format csv)").format(target, names)
    # Arrow writes the CSV (a row at a time in Python took 45 s for the 30-year exports);
    # batches bound the text held at once (the analyst's vectors are 239 floats a row).
    no_header = pcsv.WriteOptions(include_header=False)
    with connection.cursor().copy(statement) as copy:
        for batch in table.to_batches(max_chunksize=COPY_BATCH_ROWS):
            text = pa.BufferOutputStream()
            pcsv.write_csv(_arrays_as_literals(batch), text, write_options=no_header)
            copy.write(text.getvalue().to_pybytes())


def _arrays_as_literals(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with each list column as PostgreSQL's array literal text (``{1.5,nan}``),
    which COPY's CSV reads into the ``[]`` column; scalars as Arrow writes them, which
    PostgreSQL reads back exactly (floats in their shortest round-trip form, ``nan``, nulls
    as empty fields, UTC instants with their ``Z``)."""
    columns = [
        _array_literals(column.cast(pa.list_(column.type.value_type)))
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type)
        else column
        for column in batch.columns
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _array_literals(lists: pa.ListArray) -> pa.Array:
    # A batch's list column is a slice: ``values`` is the whole table's, so cut this slice's.
    first, last = lists.offsets[0].as_py(), lists.offsets[-1].as_py()
    offsets = pc.subtract(lists.offsets, pa.scalar(first, lists.offsets.type))
    elements = pc.cast(lists.values.slice(first, last - first), pa.string())
    if pa.types.is_string(lists.type.value_type):  # quoted, as an array literal needs
        escaped = pc.replace_substring(pc.replace_substring(elements, "\\", "\\\\"), '"', '\\"')
        elements = pc.binary_join_element_wise('"', escaped, '"', "")
    elements = pc.fill_null(elements, "NULL")
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, elements), ",")
    literals = pc.binary_join_element_wise("{", joined, "}", "")
    return pc.if_else(lists.is_null(), pa.scalar(None, pa.string()), literals)
