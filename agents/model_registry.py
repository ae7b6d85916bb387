"""MLflow: logging a trained agent, registering it, and loading it by alias.

Every model registers as ``quorum-<agent>``. A new version gets the alias ``challenger``, or
``queued`` while a live-gated agent's challenger awaits its live verdict; ``champion`` is the
promotion workflow's to set (a model registered with ``first_is_champion`` is bootstrapped to
champion, and says so in its tags). Models are loaded by alias, never by path.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.models import infer_signature

from agents.model_names import (  # noqa: F401
    CHALLENGER,
    CHAMPION,
    DATA_QUALITY_TAG,
    LIVE_GATED,
    QUEUED,
    QUEUED_BEHIND_TAG,
    awaits_live_verdict,
    model_name,
)

logger = logging.getLogger(__name__)


def configure(tracking_uri: str, experiment: str, artifact_location: str | None = None) -> None:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=artifact_location)
    mlflow.set_experiment(experiment)


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str
    aliases: tuple[str, ...]


def log_and_register(
    agent: str,
    python_model: mlflow.pyfunc.PythonModel,
    *,
    params: dict[str, Any],
    metrics: dict[str, float],
    tags: dict[str, str],
    input_example: Any,
    output_example: Any,
    pip_requirements: list[str],
    artifacts: dict[str, str] | None = None,
    version_tags: dict[str, str] | None = None,
    log_members: Callable[[], dict[str, str]] | None = None,
    first_is_champion: bool = True,
    model_artifacts: dict[str, str] | None = None,
) -> RegisteredVersion:
    """One MLflow run: params, out-of-sample metrics, tags, the model with its signature and
    input example; registered, aliased challenger (and champion if it is the first), or
    ``queued`` while the challenger of a live-gated agent awaits its live verdict.
    ``version_tags`` go on the model version (what the promotion gate reads).
    ``log_members`` logs a composite model's members as nested runs inside this one and
    returns their run ids by member, recorded as ``member_run.<member>`` tags.
    ``pip_requirements``: the model's packages, always stated (``installed_requirements``):
    left to MLflow, it infers them by loading the model in a subprocess, 4-8 s per model here.
    ``first_is_champion``: False for a model that becomes champion only through its gate,
    even the first version. ``model_artifacts``: files the model loads (its
    ``context.artifacts``), packaged with it."""
    name = model_name(agent)
    with mlflow.start_run(run_name=f"train-{agent}") as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags({"agent": agent, **tags})
        for path in (artifacts or {}).values():
            mlflow.log_artifact(path)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=python_model,
            registered_model_name=name,
            signature=infer_signature(input_example, output_example),
            input_example=input_example,
            pip_requirements=pip_requirements,
            artifacts=model_artifacts,
        )
        if log_members is not None:
            member_runs = log_members()
            mlflow.set_tags({f"member_run.{m}": run_id for m, run_id in member_runs.items()})
            version_tags = {
                **(version_tags or {}),
                **{f"member_run.{m}": run_id for m, run_id in member_runs.items()},
            }
    client = MlflowClient()
    version = str(info.registered_model_version)
    for key, value in (version_tags or {}).items():
        client.set_model_version_tag(name, version, key, value)
    waiting_for = challenger_in_shadow(client, name) if agent in LIVE_GATED else None
    if waiting_for is not None:
        # The challenger keeps its place until its live gate judges it: a version that
        # replaced it every daily batch would never gather the evidence to be judged.
        client.set_registered_model_alias(name, QUEUED, version)
        client.set_model_version_tag(name, version, QUEUED_BEHIND_TAG, waiting_for)
        return RegisteredVersion(name, version, run.info.run_id, (QUEUED,))
    client.set_registered_model_alias(name, CHALLENGER, version)
    aliases = [CHALLENGER]
    if first_is_champion and alias_version(client, name, CHAMPION) is None:
        client.set_registered_model_alias(name, CHAMPION, version)
        client.set_model_version_tag(
            name,
            version,
            "champion_bootstrap",
            "first version of this model: champion by bootstrap, not by the promotion gate",
        )
        aliases.append(CHAMPION)
    return RegisteredVersion(name, version, run.info.run_id, tuple(aliases))


def challenger_in_shadow(client: MlflowClient, name: str) -> str | None:
    """The challenger still collecting live evidence beside a champion, if any."""
    challenger = alias_version(client, name, CHALLENGER)
    if challenger is None or challenger == alias_version(client, name, CHAMPION):
        return None
    tags = client.get_model_version(name, challenger).tags
    return challenger if awaits_live_verdict(tags) else None


def candidate_version(client: MlflowClient, name: str) -> str | None:
    """The newest version a daily batch's gate judges: the queued one, else the challenger."""
    return alias_version(client, name, QUEUED) or alias_version(client, name, CHALLENGER)


def installed_requirements(packages: list[str]) -> list[str]:
    """``name==version`` of each installed package (a local label such as +cpu dropped)."""
    from importlib.metadata import version

    return [f"{name}=={version(name).split('+')[0]}" for name in packages]


def load(agent: str, alias: str = CHAMPION) -> mlflow.pyfunc.PyFuncModel:
    return load_uri(f"models:/{model_name(agent)}@{alias}")


def load_uri(uri: str) -> mlflow.pyfunc.PyFuncModel:
    """The model at ``uri``, with a warning naming each of its pinned packages this
    environment does not have at that version (as MLflow warns). MLflow's own check first maps
    every installed package to its modules, 2.6 s of every decision run's process; the
    requirements Quorum logs are exact pins, so each is checked by its installed version."""
    local = Path(tempfile.mkdtemp(prefix="quorum-model-"))  # where MLflow's own load downloads
    model = mlflow.pyfunc.load_model(uri, suppress_warnings=True, dst_path=str(local))
    stated = local / "requirements.txt"
    mismatches = requirement_mismatches(stated.read_text().splitlines() if stated.exists() else [])
    if mismatches:
        logger.warning(
            "%s: the model's requirements differ from this environment: %s",
            uri,
            "; ".join(mismatches),
        )
    return model


def requirement_mismatches(lines: list[str]) -> list[str]:
    """Each requirement line (``name==version``, as ``installed_requirements`` writes) that
    the installed packages do not meet, said as ``name: wanted, installed``. Lines that are
    not requirements (comments, pip options) are skipped."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import InvalidRequirement, Requirement

    out = []
    for line in (raw.strip() for raw in lines):
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue  # blank, a comment, or a pip option such as -r
        try:
            installed = version(requirement.name).split("+")[0]  # a local label such as +cpu
        except PackageNotFoundError:
            out.append(f"{requirement.name}: {requirement.specifier or 'any'}, not installed")
            continue
        if requirement.specifier and installed not in requirement.specifier:
            out.append(f"{requirement.name}: {requirement.specifier}, installed {installed}")
    return out


def alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)  # registry: int
    except mlflow.exceptions.MlflowException:
        return None
