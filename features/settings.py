"""Quorum's settings: the lowest layer, one object read from the environment, for every
profile. Every layer may import this module; no other module reads a ``QUORUM_*`` variable.

The embedded profile keeps all state under ``QUORUM_HOME`` (DuckDB warehouse, Dagster
instance, Feast stores, MLflow runs, reports). The production profile moves the shared
state onto PostgreSQL and Redis; its connection settings come from environment variables,
never from committed files. The distributed profile is production's services plus runs on
Celery workers, MLflow behind its tracking server and the runs' outputs and logs on an S3
store (docs/operations.md, "The distributed profile").

Reading the settings validates them and does nothing else: no folder, file or database is
created here (``orchestration.instance.prepare`` does that, from an entry point). A bad value
stops with the variable's name and the rule it breaks, before anything runs. What the
settings derive (each state's path or URL, the services' addresses, the variables a child
process reads) is in ``features.settings_derived``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from features.settings_derived import DerivedSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
FEATURE_REPO = REPO_ROOT / "features"


def feature_store_yaml(profile: str) -> Path:
    """Feast's yaml for a profile: the embedded one's, or that of a profile on the services
    (``feature_store.production.yaml``, ``feature_store.distributed.yaml``)."""
    name = "feature_store.yaml" if profile == "embedded" else f"feature_store.{profile}.yaml"
    return FEATURE_REPO / name


ENV_PREFIX = "QUORUM_"


class SettingsError(ValueError):
    """A setting broke its rule; the message names each variable, its value and the rule."""


class QuorumSettings(DerivedSettings, BaseModel):
    """Every field is the variable ``QUORUM_<FIELD>``. A plain model, read only from the
    mapping ``settings_from`` is given: no field is filled from the process's environment
    behind the caller's back (a deployment's settings must not pick up its parent's)."""

    model_config = ConfigDict(extra="ignore")

    profile: Literal["embedded", "production", "distributed"] = "embedded"
    home: Path = Field(default=REPO_ROOT / ".quorum", description="Root of all embedded state.")
    # Overrides of the paths derived from home, for tools that build a warehouse elsewhere.
    warehouse: Path | None = None
    exports: Path | None = None
    market_data: str = Field(
        default="sp500",
        description="sp500 | arch | csv:PATH | parquet:PATH (long format: date, symbol, close); "
        "PATH may be s3://bucket/key on the S3 store (QUORUM_S3_ENDPOINT_URL).",
    )
    benchmark_symbol: str | None = Field(
        default=None,
        description="Symbol of the market index in a user's file; built-in sources set their own.",
    )
    postgres_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432",
        description="Server URL (no database) for the production profile; from the environment.",
    )
    redis_url: str = "redis://127.0.0.1:6379"
    feast_project: str = Field(
        default="quorum", description="Feast project: namespaces registry rows and Redis keys."
    )
    feast_registry_database: str = "quorum_feast"
    mlflow_database: str = "quorum_mlflow"
    ledger_database: str = "quorum_ledger"
    dagster_database: str = "quorum_dagster"
    replay_start: date | None = Field(
        default=None,
        description="First session the paper desk replays (YYYY-MM-DD); default: "
        "replay_sessions before the data's last session.",
    )
    replay_sessions: int = Field(default=10, ge=1)
    initial_cash: float = Field(default=1_000_000.0, gt=0, allow_inf_nan=False)
    halt_policy: Literal["hold", "flatten", "reduce"] = "hold"
    max_short: float = Field(
        default=0.0,
        ge=0.0,
        description="A long-short book: the shape's shorts sum to at most this (0.3: a 130/30 "
        "book); 0 keeps the names long only.",
    )
    canary_share: float = Field(
        default=0.0,
        ge=0.0,
        le=0.5,
        allow_inf_nan=False,
        description="The canary split: this share of the book's capital is traded by a "
        "sub-book the Market Analyst's challenger drives while one is registered (0.1: a "
        "tenth); the desk's limits apply to the whole book. 0: challengers run in shadow "
        "only.",
    )
    hedge: bool = Field(
        default=True,
        description="The Risk Manager's index hedge: a short sized from the book's beta.",
    )
    hedge_instrument: str | None = Field(
        default=None,
        description="The symbol the hedge shorts (a column of the market data); default: "
        "the data's index. Without either, the desk runs unhedged.",
    )
    venues: str = Field(
        default="simulated",
        description="Where child orders are routed: simulated (the shipped, SIMULATED venue "
        "file), none (no venue), or the path of your own YAML or CSV venue file.",
    )
    intraday_minutes: int = Field(default=30, description="Decision cycle interval.")
    trading_calendar: str = Field(
        default="XNYS",
        min_length=1,
        description="The pandas_market_calendars calendar the schedules follow: XNYS (NYSE "
        "hours and holidays), XLON, 24/7 for a market that never closes, ...",
    )
    rl_timesteps: int = Field(
        default=30_000,
        ge=1,
        description="PPO steps when the execution_rl_training job trains the RL order "
        "scheduler (its default run config; about six per training order).",
    )
    analyst_members: tuple[Literal["lightgbm", "lstm", "transformer", "cnn"], ...] = Field(
        default=("lightgbm", "lstm", "transformer", "cnn"),
        min_length=1,
        description="The Market Analyst's ensemble members its training trains and registers, "
        "comma-separated (lightgbm,lstm,transformer,cnn); a run's config may name others. "
        "lightgbm alone: no PyTorch in the batch or in the champion the cycles load.",
    )
    ray_address: str | None = Field(
        default=None,
        description="The Ray cluster the analyst search's trials run on when its config asks "
        "for Ray (host:port of `ray start --head`, or ray://host:port); default: a Ray "
        "started inside the search's step, on that machine's cores.",
    )
    bootstrap_gate: bool = Field(
        default=True,
        description="Whether the Market Analyst's first version must pass its bootstrap gate "
        "(out-of-sample rank IC, drift, data checks) to trade. false: the gate still runs "
        "and records its verdict, and the version is made champion anyway (data too short "
        "to judge skill on, such as a test slice).",
    )
    feast_type_checks: bool = Field(
        default=False,
        description="Whether Feast's classes check their arguments' types at run time "
        "(typeguard's @typechecked): true costs about 2.7 s at the start of every process "
        "that imports Feast, each Dagster run included (features/feast_checks.py). The "
        "tests' own process keeps them on.",
    )
    sensor_timeout_s: int = Field(
        default=300,
        ge=60,
        description="How long the daemon waits for a sensor's evaluation before failing its "
        "tick (Dagster's DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS; its own default is 60 s). The "
        "drift sensor imports Evidently and MLflow, reads the champion's reference and "
        "renders its report: about 18 s on an idle 2-core machine, twice that with both "
        "cores busy, and a failed tick waits out the sensor's hourly interval.",
    )
    alert_webhook: str | None = Field(
        default=None,
        description="Slack-compatible webhook for alerts; without it alerts go to the log "
        "and the ledger only.",
    )
    celery_broker: str | None = Field(
        default=None,
        description="Distributed profile: the Celery broker runs are queued on (redis://... "
        "or amqp://...); default: database celery_redis_db of QUORUM_REDIS_URL's server.",
    )
    celery_redis_db: int = Field(default=1, ge=0, le=15)
    celery_workers: int = Field(
        default=2, ge=1, description="Distributed profile: workers `make serve` starts."
    )
    s3_endpoint_url: str = Field(
        default="http://127.0.0.1:8333",
        description="Distributed profile: the S3 store's endpoint (SeaweedFS's S3 port on one "
        "machine); its credentials are boto3's own variables (AWS_ACCESS_KEY_ID, ...).",
    )
    s3_bucket: str = "quorum"
    mlflow_server_url: str | None = Field(
        default=None,
        description="Distributed profile: MLflow's tracking server; default: the one `make "
        "serve` starts on bind_host:mlflow_port.",
    )
    bind_host: str = Field(
        default="127.0.0.1", description="Where servers listen; loopback unless opened on purpose."
    )
    webserver_port: int = Field(default=3000, ge=1, le=65535)
    mlflow_port: int = Field(default=5000, ge=1, le=65535)
    metrics_port: int = Field(default=9464, ge=1, le=65535, description="Prometheus, 127.0.0.1.")
    # Not Quorum's own: Dagster's instance folder, when the caller chose one.
    dagster_home_override: Path | None = Field(default=None, exclude=True)

    @field_validator("intraday_minutes")
    @classmethod
    def _divides_an_hour(cls, minutes: int) -> int:
        if minutes <= 0 or 60 % minutes:
            raise ValueError("must be a whole number of minutes that divides an hour (1..60)")
        return minutes

    @field_validator("analyst_members", mode="before")
    @classmethod
    def _comma_separated(cls, members: object) -> object:
        if isinstance(members, str):
            names = [name.strip() for name in members.split(",") if name.strip()]
            if len(set(names)) != len(names):
                raise ValueError("names a member twice")
            return tuple(names)
        return members

    @field_validator("ray_address")
    @classmethod
    def _ray_address(cls, address: str | None) -> str | None:
        if address is not None and not re.fullmatch(r"(ray://)?[\w.\-]+:\d+", address):
            raise ValueError("must be host:port or ray://host:port")
        return address

    @field_validator("postgres_url")
    @classmethod
    def _postgres_scheme(cls, url: str) -> str:
        if not url.startswith("postgresql://"):
            raise ValueError("must start with postgresql://")
        return url

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, url: str) -> str:
        if not url.startswith("redis://"):
            raise ValueError("must start with redis://")
        return url

    @field_validator("celery_broker")
    @classmethod
    def _broker_scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "amqp://", "pyamqp://")):
            raise ValueError("must start with redis://, amqp:// or pyamqp://")
        return url

    @field_validator("s3_endpoint_url", "mlflow_server_url")
    @classmethod
    def _http_scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url


def settings_from(environ: Mapping[str, str]) -> QuorumSettings:
    """The settings an environment describes, validated; a bad value raises SettingsError
    naming each variable, its value and the rule it breaks."""
    values = {
        key.removeprefix(ENV_PREFIX).lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX)
    }
    known = {k: v for k, v in values.items() if k in QuorumSettings.model_fields}
    if environ.get("DAGSTER_HOME"):
        known["dagster_home_override"] = environ["DAGSTER_HOME"]
    try:
        settings = QuorumSettings.model_validate(known)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            variable = (
                "DAGSTER_HOME"
                if field == "dagster_home_override"
                else (f"{ENV_PREFIX}{field.upper()}")
            )
            problems.append(f"{variable}={item.get('input')!r}: {item['msg']}")
        raise SettingsError("invalid Quorum settings:\n  " + "\n  ".join(problems)) from None
    return settings.model_copy(update={"home": settings.home.resolve()})


def current_settings() -> QuorumSettings:
    """The settings of this process's environment as it is now (not cached)."""
    return settings_from(os.environ)


@cache
def load_settings() -> QuorumSettings:
    """The process's settings, read and validated once. Writes nothing."""
    return current_settings()
