"""Dagster resources for MLflow: its tracking and registry, and the Market Analyst's
training (the ensemble's members, the Ray cluster of its search)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from agents.market_analyst.names import LIGHTGBM, SEQUENCE_MEMBERS


class MlflowTracking(dg.ConfigurableResource):
    """MLflow tracking and registry: SQLite under QUORUM_HOME, or PostgreSQL in production."""

    tracking_uri: str
    artifact_location: str | None = None  # None: the tracking server's own artifact root
    experiment: str = "quorum"

    def configure(self) -> None:
        from agents import model_registry
        from features.postgres import ensure_database

        if self.tracking_uri.startswith("postgresql"):
            ensure_database(self.tracking_uri)
        model_registry.configure(self.tracking_uri, self.experiment, self.artifact_location)


class AnalystTraining(dg.ConfigurableResource):
    """The deployment's Market Analyst ensemble (``QUORUM_ANALYST_MEMBERS``): the members its
    training fits when a run's config names none; and the Ray cluster its search's trials
    run on when asked for Ray (``QUORUM_RAY_ADDRESS``; None: a Ray inside the step)."""

    members: list[str] = Field(default=[LIGHTGBM, *SEQUENCE_MEMBERS])
    ray_address: str | None = None
