"""The code location as a whole: what the UI shows, and the architecture rules it rests on."""

import ast
from pathlib import Path

import dagster as dg
import pytest

from features.settings import current_settings
from orchestration import instance
from orchestration.definitions import build_definitions

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    """The code location as Dagster loads it: settings read, home prepared, defs built."""
    return build_definitions(instance.prepare(current_settings()))


def test_code_location_loads_with_every_asset_in_its_group(defs):
    dg.Definitions.validate_loadable(defs)
    groups = {
        node.key.to_user_string(): node.group_name
        for node in defs.resolve_asset_graph().asset_nodes
    }
    assert groups["raw_prices"] == groups["raw_symbols"] == "ingestion"
    dbt_keys = {k for k in groups if "/" in k}
    assert {
        "staging/stg_prices",
        "marts/fct_daily_features",
        "marts/fct_forward_returns",
        "marts/fct_market_features",
    } <= dbt_keys
    assert {groups[k] for k in dbt_keys} == {"transform"}
    assert {groups[k] for k in ("feast_registry", "online_features", "training_set")} == {
        "features"
    }
    training = (
        "market_analyst_model",
        "risk_manager_model",
        "portfolio_optimizer_model",
        "execution_model",
    )
    assert {groups[k] for k in training} == {"training"}
    daily = defs.resolve_job_def("daily_pipeline")
    assert {
        "raw_prices",
        "dbt_models",
        "feast_registry",
        "online_features",
        "training_set",
        "market_analyst_model",
        "market_analyst_promotion",
        "desk_models_bootstrap_gate",  # the other agents' first versions face their gate
    } <= {node.name for node in daily.graph.node_defs}


def test_raw_prices_declares_the_quality_suite_as_checks_with_errors_blocking(defs):
    graph = defs.resolve_asset_graph()
    blocking = {
        key.name: graph.get_check_spec(key).blocking
        for key in graph.get_check_keys_for_assets({dg.AssetKey("raw_prices")})
    }
    assert blocking == {
        "required_fields_not_null": True,
        "prices_positive": True,
        "ohlc_consistent": True,
        "unique_symbol_date": True,
        "no_future_dates": True,
        "daily_return_outliers": False,
        "symbols_fresh": False,
    }


def _imports(folder: str) -> list[tuple[Path, str]]:
    """Every module a folder's code imports, at any depth (functions included)."""
    found = []
    for path in (REPO / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found += [(path, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.append((path, node.module))
    return found


def test_domain_code_imports_no_dagster_no_orchestration_and_no_assets():
    offenders = [
        f"{path.relative_to(REPO)}: {module}"
        for folder in ("agents", "monitoring", "features")
        for path, module in _imports(folder)
        if module.split(".")[0] in ("orchestration", "assets")
        or module.split(".")[0].startswith("dagster")
    ]
    assert offenders == []


def test_assets_are_glue_that_never_imports_the_wiring():
    offenders = [
        f"{path.relative_to(REPO)}: {module}"
        for path, module in _imports("assets")
        if module.split(".")[0] == "orchestration"
    ]
    assert offenders == []


def test_dbt_folder_is_not_a_python_package():
    # A dbt/__init__.py would shadow dbt-core's own `dbt` package.
    assert not (REPO / "dbt" / "__init__.py").exists()


def test_each_profile_writes_its_own_instance_file_and_no_connection_string(tmp_path, monkeypatch):
    import yaml

    from features.settings import QuorumSettings

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    files = {}
    for profile in ("embedded", "production", "distributed"):
        settings = QuorumSettings(profile=profile, home=tmp_path)
        instance.ensure_dirs(settings)
        files[profile] = yaml.safe_load((settings.dagster_home / "dagster.yaml").read_text())
    assert {p: QuorumSettings(profile=p, home=tmp_path).dagster_home.name for p in files} == {
        "embedded": "dagster",
        "production": "dagster-production",
        "distributed": "dagster-distributed",
    }
    embedded, production, distributed = (files[p] for p in files)
    # Distributed: production's instance, runs launched on Celery, logs on the S3 store; the
    # broker's and the store's addresses are read from the environment, never written.
    assert {k: v for k, v in distributed.items() if k in production} == production
    assert distributed["run_launcher"]["class"] == "CeleryRunLauncher"
    assert distributed["run_launcher"]["config"]["broker"] == {"env": "QUORUM_CELERY_BROKER_URL"}
    assert distributed["compute_logs"]["class"] == "S3ComputeLogManager"
    assert "127.0.0.1" not in str(distributed)
    assert "storage" not in embedded  # Dagster's SQLite default under DAGSTER_HOME
    assert production["storage"] == {
        "postgres": {"postgres_url": {"env": "QUORUM_DAGSTER_POSTGRES_URL"}}
    }
    assert production["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert production["run_monitoring"]["enabled"] and production["run_retries"]["max_retries"]
    # One model batch at a time. Desk runs: one at a time on the embedded DuckDB ledger; on
    # the services two (one deciding under the desk's lease, the next starting beside it).
    for written, desk_runs in ((embedded, 1), (production, 2)):
        limits = written["concurrency"]["runs"]["tag_concurrency_limits"]
        assert {"key": "quorum/desk", "value": "trading", "limit": desk_runs} in limits
        assert {"key": "quorum/batch", "value": "models", "limit": 1} in limits


def test_every_job_that_rebuilds_data_or_trains_models_queues_behind_the_others(defs):
    """The after-close schedule and a drift-launched retraining must not rewrite the same
    warehouse and training sets at once: each such job carries the tag the instance limits."""
    batch = {"daily_pipeline", "retrain_models", "analyst_search", "execution_rl_training"}
    tagged = {
        job.name for job in defs.resolve_all_job_defs() if job.tags.get("quorum/batch") == "models"
    }
    assert tagged == batch
    assert all("quorum/batch" not in defs.get_job_def(j).tags for j in ("decision_cycle",))


def test_the_model_batches_run_in_one_process_unless_a_run_chooses_a_process_per_step(defs):
    """The daily batch and the drift-launched retraining: the schedule's and the sensor's
    runs (no config, or only their steps' config) execute in one process; a run's own
    execution config still selects the multiprocess executor."""
    from dagster._core.system_config.objects import ResolvedRunConfig

    def executor(job: dg.JobDefinition, run_config: dict) -> list[str]:
        resolved = job.config_mapping.resolve_from_unvalidated_config(run_config)
        return list(ResolvedRunConfig.build(job, resolved).execution.execution_engine_config)

    steps = {"ops": {"market_analyst_model": {"config": {"members": ["lightgbm"]}}}}
    multiprocess = {"execution": {"config": {"multiprocess": {}}}}
    for name in ("daily_pipeline", "retrain_models"):
        job = defs.resolve_job_def(name)
        assert executor(job, {}) == executor(job, steps) == ["in_process"], name
        assert executor(job, multiprocess) == ["multiprocess"], name


def test_sector_training_is_a_partitioned_job_whose_partitions_the_daily_batch_keeps(defs):
    """The daily batch (analyst_sectors) keeps a partition per sector; the sector job trains
    one partition per run, and runs side by side (it is not a model batch)."""
    job = defs.resolve_job_def("sector_analyst_training")
    assert job.partitions_def == dg.DynamicPartitionsDefinition(name="analyst_sector")
    assert {node.name for node in job.graph.node_defs} == {"sector_analyst_model"}
    daily = defs.resolve_job_def("daily_pipeline")
    assert "analyst_sectors" in {node.name for node in daily.graph.node_defs}
    assert "sector_analyst_model" not in {node.name for node in daily.graph.node_defs}


def test_decision_runs_are_not_retried_and_have_a_runtime_limit(defs):
    tags = defs.get_job_def("decision_cycle").tags
    assert tags["quorum/desk"] == "trading" and tags["dagster/max_retries"] == "0"
    assert int(tags["dagster/max_runtime"]) > 0


def test_the_rl_training_job_runs_with_the_deployments_step_budget(defs):
    job = "execution_rl_training"
    default = defs.get_job_def(job).run_config["ops"]["execution_rl_scheduler"]["config"]
    assert default == {"timesteps": 30_000}
    smaller = instance.prepare(current_settings().model_copy(update={"rl_timesteps": 2048}))
    config = build_definitions(smaller).get_job_def(job).run_config
    assert config["ops"]["execution_rl_scheduler"]["config"] == {"timesteps": 2048}


def test_the_analyst_trains_every_member_unless_the_deployment_names_fewer(defs):
    assert defs.resources["analyst_training"].members == ["lightgbm", "lstm", "transformer", "cnn"]
    fewer = current_settings().model_copy(update={"analyst_members": ("lightgbm",)})
    assert build_definitions(instance.prepare(fewer)).resources["analyst_training"].members == [
        "lightgbm"
    ]


def test_the_bootstrap_gate_is_on_unless_the_deployment_turns_it_off(defs):
    def monitoring(definitions: dg.Definitions):
        return definitions.resources["model_monitoring"]

    assert monitoring(defs).bootstrap_gate is True
    off = instance.prepare(current_settings().model_copy(update={"bootstrap_gate": False}))
    assert monitoring(build_definitions(off)).bootstrap_gate is False


def test_loading_the_code_location_leaves_the_heavy_libraries_to_the_steps():
    """Every Dagster process (webserver, daemon, each run and step) loads the location: the
    libraries only steps need (Feast, MLflow, Evidently, GE, skfolio, LightGBM, statsmodels,
    PyTorch, Optuna, Ray) must not load with it. A fresh interpreter, as Dagster starts one."""
    from benchmarks.code_location import probe

    assert probe(load=True)["heavy_modules_loaded"] == []


def test_only_the_distributed_profile_hands_step_outputs_over_through_the_s3_store(tmp_path):
    from dagster_aws.s3 import S3PickleIOManager

    from features.settings import QuorumSettings
    from orchestration.definitions import distributed_resources

    for profile in ("embedded", "production"):
        assert distributed_resources(QuorumSettings(profile=profile, home=tmp_path)) == {}
    settings = QuorumSettings(
        profile="distributed", home=tmp_path, feast_project="desk_a", s3_bucket="books"
    )
    io_manager = distributed_resources(settings)["io_manager"]
    assert isinstance(io_manager, S3PickleIOManager)
    assert (io_manager.s3_bucket, io_manager.s3_prefix) == ("books", "desk_a/io")
    assert io_manager.s3_resource.endpoint_url == settings.s3_endpoint_url


def test_only_the_distributed_profile_hands_the_warehouse_and_the_price_file_to_the_store(
    tmp_path,
):
    from features.settings import QuorumSettings
    from orchestration.definitions import resources_for

    settings = QuorumSettings(
        profile="distributed", home=tmp_path, feast_project="desk_a", s3_bucket="books"
    )
    resources = resources_for(settings, dg.ResourceDefinition.none_resource())
    warehouse, market_data = resources["warehouse"], resources["market_data"]
    assert warehouse.object_uri == "s3://books/desk_a/warehouse/warehouse.duckdb"
    assert warehouse.s3_endpoint_url == market_data.s3_endpoint_url == settings.s3_endpoint_url
    embedded = resources_for(QuorumSettings(home=tmp_path), dg.ResourceDefinition.none_resource())
    assert embedded["warehouse"].object_uri is None
    assert embedded["market_data"].s3_endpoint_url is None  # s3:// paths: AWS's own endpoint
    assert not embedded["warehouse"].fetch() and embedded["warehouse"].keep() is None
