"""Per-sector training as Dagster partitions: analyst_sectors keeps the partitions in step with
the data's sectors, and a partition trains and registers that sector's model."""

import dagster as dg
import pandas as pd
from mlflow import MlflowClient

from assets.resources import FeastStore, MlflowTracking
from assets.training.sector_models import ANALYST_SECTORS, analyst_sectors, sector_analyst_model
from features.names import ANALYST_SERVICE
from tests.agents.market_analyst.test_sector_models import SECTORS, opposite_sectors


def feature_files(tmp_path, sectors: dict[str, str]) -> FeastStore:
    """The exports' daily features (each symbol's sector) and the analyst's training set."""
    exports, training = tmp_path / "exports", tmp_path / "training"
    exports.mkdir(exist_ok=True)
    training.mkdir(exist_ok=True)
    rows = opposite_sectors()
    rows[rows["symbol"].isin(sectors)].to_parquet(training / f"{ANALYST_SERVICE}.parquet")
    stamps = pd.to_datetime(rows["event_timestamp"]).drop_duplicates().tail(2)
    daily = pd.DataFrame(
        [(s, sector, t) for t in stamps for s, sector in sectors.items()],
        columns=["symbol", "sector", "event_timestamp"],
    )
    daily.to_parquet(exports / "fct_daily_features.parquet")
    return FeastStore(exports_dir=str(exports), training_root=str(training))


def test_sector_partitions_follow_the_data_and_a_partition_registers_its_model(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    tracking = MlflowTracking(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_location=str(tmp_path / "art")
    )
    one_name_sector = {**SECTORS, "S8": "Gamma"}
    resources = {"feast": feature_files(tmp_path, one_name_sector), "mlflow_tracking": tracking}
    first = dg.materialize([analyst_sectors], instance=instance, resources=resources)
    assert sorted(instance.get_dynamic_partitions(ANALYST_SECTORS.name)) == ["Alpha One", "Beta"]
    record = first.asset_materializations_for_node("analyst_sectors")[0].metadata
    assert record["without_a_model"].data == {"Gamma": ["S8"]}  # one name: no model

    config = {"ops": {"sector_analyst_model": {"config": {"n_splits": 2, "min_train_days": 150}}}}
    trained = dg.materialize(
        [analyst_sectors, sector_analyst_model],
        selection=[sector_analyst_model],
        partition_key="Beta",
        instance=instance,
        resources=resources,
        run_config=config,
    )
    metadata = trained.asset_materializations_for_node("sector_analyst_model")[0].metadata
    assert metadata["model"].value == "quorum-market_analyst-sector-beta"
    assert metadata["symbols"].data == ["S4", "S5", "S6", "S7"]
    assert metadata["oos_rank_ic_gain_over_pooled"].value > 0.2  # the planted sign
    client = MlflowClient(tracking.tracking_uri)
    version = client.get_model_version_by_alias("quorum-market_analyst-sector-beta", "challenger")
    assert version.tags["sector"] == "Beta"

    # A sector that no longer has enough names loses its partition.
    fewer = {s: sector for s, sector in SECTORS.items() if s not in ("S5", "S6")}
    resources["feast"] = feature_files(tmp_path, fewer)
    dg.materialize([analyst_sectors], instance=instance, resources=resources)
    assert instance.get_dynamic_partitions(ANALYST_SECTORS.name) == ["Alpha One"]
