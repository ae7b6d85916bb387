"""The dbt project as Dagster assets: every model, seed and test shows in the lineage graph."""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from assets.resources import FeastStore, Warehouse
from features.settings import DBT_PROJECT_DIR


def _manifest_is_stale(project: DbtProject) -> bool:
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = [
        p
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.suffix in {".sql", ".yml", ".csv"} and "target" not in p.parts
    ]
    return any(p.stat().st_mtime > built for p in sources)


def prepared_dbt_project() -> DbtProject:
    """The dbt project with a current manifest. `dagster dev` re-parses on load; every other
    entry point (make run, tests, the CLI) parses when the models changed since the last
    manifest, so no stale manifest is ever served. Called when the code location loads
    (dbt's profile reads the warehouse from the environment the settings export)."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    project.prepare_if_dev()
    if _manifest_is_stale(project):
        project.preparer.prepare(project)
    return project


class QuorumDbtTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "transform"


def _with_row_counts(events: list[Any], warehouse: Warehouse) -> Iterator[Any]:
    """Attach each built table's row count. Counted after dbt exits: the dbt process holds
    DuckDB's file lock while it runs (dagster-dbt's own fetch_row_counts opens the adapter
    in this process instead, and its lingering connection then locks out our resources)."""
    with warehouse.connect(read_only=True) as con:
        tables = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables()"
            ).fetchall()
        }
        for event in events:
            if isinstance(event, dg.Output) and event.output_name:
                relation = event.output_name.replace("__", ".", 1)
                if relation in tables:
                    rows = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
                    event = event.with_metadata({**event.metadata, "dagster/row_count": rows})
            yield event


def _keep_staged_market(warehouse: Warehouse) -> None:
    """The staged prices and symbols on the warehouse's store, when it has one, for the steps
    that read the staged market (the desk's replay, its models' training, the backtest)."""
    store = warehouse.staged_store
    if store is None:
        return
    from features.ingestion.staged import keep_staged_market, read_staged_market

    with warehouse.connect(read_only=True) as con:
        staged = read_staged_market(con)
    keep_staged_market(staged, store)


def _with_exports_kept(events: list[Any], feast: FeastStore) -> Iterator[Any]:
    """When the exports are read from a store other than dbt's folder (distributed: S3),
    put each mart this build exported there, so that no later step reads this step's disk;
    each output names where its export is kept."""
    exports = feast.exports
    if not exports.on_s3:
        yield from events
        return
    folder = Path(feast.exports_dir)
    for event in events:
        if isinstance(event, dg.Output) and event.output_name:
            name = event.output_name.split("__", 1)[-1]
            local = folder / f"{name}.parquet"
            if local.exists():
                uri = exports.put(name, str(local))
                event = event.with_metadata({**event.metadata, "export_uri": uri})
        yield event


def build_dbt_assets(project: DbtProject) -> dg.AssetsDefinition:
    """Every dbt model, seed and test as assets and checks, from the project's manifest."""

    @dbt_assets(manifest=project.manifest_path, dagster_dbt_translator=QuorumDbtTranslator())
    def dbt_models(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: Warehouse,
        feast: FeastStore,
    ) -> Iterator[Any]:
        """dbt build: staging -> intermediate -> marts, with every YAML test as an asset
        check. The marts' post-hooks export them to Parquet for Feast and the desk; on the
        distributed profile they are then put on the S3 store, where every step reads them,
        and the warehouse is fetched from the store before the build and kept after it."""
        warehouse.fetch()
        # Raises when the build fails: nothing below runs, the store keeps the last good one.
        events = list(dbt.cli(["build"], context=context).stream())
        counted = list(_with_row_counts(events, warehouse))
        _keep_staged_market(warehouse)
        kept = warehouse.keep()
        if kept:
            context.log.info(f"warehouse kept at {kept}")
        yield from _with_exports_kept(counted, feast)

    return dbt_models
