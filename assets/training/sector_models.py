"""One Market Analyst model per sector, as Dagster partitions: the daily batch keeps the
partitions in step with the data's sectors (``analyst_sectors``); a backfill of
``sector_analyst_model`` trains each sector as its own run, spread over the deployment's
workers. Each sector's model is scored against the pooled model on the same folds and rows,
and registered as quorum-market_analyst-sector-<sector> (challenger). The desk still trades
the pooled analyst: these models are not served."""

import dagster as dg
from pydantic import Field

from agents.market_analyst.names import LIGHTGBM
from agents.market_analyst.sectors import MIN_SECTOR_SYMBOLS, latest_sectors, trainable_sectors
from assets.features.feature_store import training_set
from assets.resources import FeastStore, MlflowTracking
from features.names import ANALYST_SERVICE

ANALYST_SECTORS = dg.DynamicPartitionsDefinition(name="analyst_sector")


class AnalystSectorsConfig(dg.Config):
    min_symbols: int = Field(
        default=MIN_SECTOR_SYMBOLS,
        description="A sector with fewer names gets no model (a day's rank IC over two "
        "names is only a sign).",
    )


@dg.asset(group_name="training", kinds={"dagster"}, deps=[training_set])
def analyst_sectors(
    context: dg.AssetExecutionContext, config: AnalystSectorsConfig, feast: FeastStore
) -> dg.Output[dict[str, list[str]]]:
    """The sectors that get their own analyst model, each with its names; the
    ``analyst_sector`` partitions follow them (a new sector added, a vanished one removed)."""
    daily = feast.exports.read(
        "fct_daily_features", columns=["symbol", "sector", "event_timestamp"]
    )
    kept, too_small = trainable_sectors(latest_sectors(daily), config.min_symbols)
    name = ANALYST_SECTORS.name
    existing = set(context.instance.get_dynamic_partitions(name))
    added, removed = sorted(set(kept) - existing), sorted(existing - set(kept))
    context.instance.add_dynamic_partitions(name, added)
    for key in removed:
        context.instance.delete_dynamic_partition(name, key)
    return dg.Output(
        kept,
        metadata={
            "sectors": sorted(kept),
            "symbols_per_sector": {s: len(n) for s, n in sorted(kept.items())},
            "partitions_added": added,
            "partitions_removed": removed,
            "without_a_model": {s: names for s, names in sorted(too_small.items())},
        },
    )


class SectorModelConfig(dg.Config):
    horizon_days: int = Field(default=5, description="Label: forward excess return, days.")
    n_splits: int = Field(default=5, description="Walk-forward test blocks.")
    min_train_days: int = Field(default=1260, description="First training window, days.")
    end: str | None = Field(
        default=None,
        description="Last day read (and labels maturing after it dropped): a study that "
        "must not see later data; default: all of it, as the daily training.",
    )
    use_search_results: bool = Field(
        default=True,
        description="LightGBM's best parameters from market_analyst_search, if recorded.",
    )


@dg.asset(
    group_name="sector_training", kinds={"lightgbm", "mlflow"}, partitions_def=ANALYST_SECTORS
)
def sector_analyst_model(
    context: dg.AssetExecutionContext,
    config: SectorModelConfig,
    analyst_sectors: dict[str, list[str]],
    feast: FeastStore,
    mlflow_tracking: MlflowTracking,
) -> dg.MaterializeResult:
    """The partition's sector: its own LightGBM and the pooled one, walk-forward on the same
    purged folds, scored on the sector's names; its model registered in MLflow."""
    from mlflow import MlflowClient

    from agents.market_analyst.search import best_recorded_params
    from agents.market_analyst.sector_models import register_sector_model, sector_study

    sector = context.partition_key
    if sector not in analyst_sectors:
        raise dg.Failure(
            f"sector {sector!r} has no model in the latest analyst_sectors "
            f"({sorted(analyst_sectors)}): rematerialize analyst_sectors, or drop the partition"
        )
    data = feast.training_set(ANALYST_SERVICE)
    mlflow_tracking.configure()
    params = (
        best_recorded_params(MlflowClient(), LIGHTGBM) if config.use_search_results else None
    ) or {}
    study = sector_study(
        data,
        sector,
        analyst_sectors[sector],
        params=params,
        horizon_days=config.horizon_days,
        n_splits=config.n_splits,
        min_train_days=config.min_train_days,
        end=config.end,
    )
    registered = register_sector_model(
        study, params=params, n_splits=config.n_splits, feature_service=ANALYST_SERVICE
    )
    scores = study.mean_scores()
    return dg.MaterializeResult(
        metadata={
            "model": registered.name,
            "version": registered.version,
            "mlflow_run_id": registered.run_id,
            "symbols": list(study.symbols),
            "period": f"{study.first_date.date()}..{study.last_date.date()}",
            "params_from_search": bool(params),
            **{f"oos_mean_{k}": round(v, 5) for k, v in scores.items()},
            "oos_rank_ic_gain_over_pooled": round(
                scores["sector_rank_ic"] - scores["pooled_rank_ic"], 5
            ),
            "folds": dg.MetadataValue.md(study.folds.round(4).to_markdown(index=False)),
        }
    )
