"""Jobs: what a person launches from the UI and what the schedules run."""

import dagster as dg

daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    description="After the close: ingest prices, check them, rebuild the dbt marts, "
    "register and materialize the Feast features, build the training set, train and register "
    "the challengers.",
    selection=dg.AssetSelection.groups("ingestion", "transform", "features", "training"),
)
