"""The desk's models: each agent's champion from the MLflow registry, loaded by alias."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

from mlflow import MlflowClient

from agents import model_registry
from agents.desk.shadow import ShadowAnalyst
from agents.desk.shadow_agents import AGENTS, AgentChallenger
from agents.execution.agent import ExecutionPolicy, RLScheduler
from agents.market_analyst.agent import MarketAnalyst, SignalPolicy
from agents.market_analyst.ensemble import SignalEnsemble
from agents.market_analyst.regime import RegimeModel
from agents.portfolio_optimizer.optimizer import OptimizerConfig
from agents.risk_manager.agent import RiskLimits

RL = "execution_rl"  # the RL scheduler's registry name: quorum-execution_rl


@dataclass(frozen=True)
class DeskModels:
    signal_model: SignalEnsemble
    regime_model: RegimeModel | None
    sectors: dict[str, str]
    signal_policy: SignalPolicy = field(default_factory=SignalPolicy)
    risk_limits: RiskLimits = field(default_factory=RiskLimits)
    optimizer_config: OptimizerConfig = field(default_factory=OptimizerConfig)
    execution_policy: ExecutionPolicy = field(default_factory=ExecutionPolicy)
    versions: dict[str, str] = field(default_factory=dict)  # agent -> registry version
    # The RL order scheduler, only once its gate made a version champion; None: the
    # execution agent's classical choice schedules every order.
    execution_rl: RLScheduler | None = None
    # An RL scheduler the post-trade analysis compares with the classical schedules (the
    # backtest's: champion or challenger); it never trades.
    execution_rl_to_compare: RLScheduler | None = None
    # The Market Analyst's challenger, run in shadow beside the champion (never trades).
    shadow_analyst: ShadowAnalyst | None = None
    # The risk manager's, optimizer's and execution agent's challengers in shadow, by agent.
    shadow_agents: dict[str, AgentChallenger] = field(default_factory=dict)


class NoChampion(LookupError):
    """An agent has no model at the alias the desk trades with: the desk trades nothing."""


def _no_model(client: MlflowClient, agent: str, alias: str) -> str:
    """Why the desk cannot trade: the agent's missing alias, and what its gate said of the
    version waiting as challenger."""
    name = model_registry.model_name(agent)
    why = f"{name} has no {alias}: the desk trades nothing until a version passes its gate"
    waiting = model_registry.alias_version(client, name, model_registry.CHALLENGER)
    if waiting is None:
        return f"{why} (no version is registered; run the daily batch)"
    tags = client.get_model_version(name, waiting).tags
    said = tags.get("promotion.reason", "its gate has not run yet")
    return f"{why} (v{waiting}, {tags.get('promotion.last_act', 'not judged')}: {said})"


def load_desk_models(alias: str = model_registry.CHAMPION) -> DeskModels:
    """Every agent's model at ``alias``; the tracking URI must be configured first."""
    client = MlflowClient()
    # As strings, as the registry workflow names them (MLflow's ModelVersion holds an int).
    versions = {}
    for agent in ("market_analyst", "risk_manager", "portfolio_optimizer", "execution"):
        version = model_registry.alias_version(client, model_registry.model_name(agent), alias)
        if version is None:
            raise NoChampion(_no_model(client, agent, alias))
        versions[agent] = version
    analyst = model_registry.load("market_analyst", alias).unwrap_python_model()
    risk = model_registry.load("risk_manager", alias).unwrap_python_model()
    optimizer = model_registry.load("portfolio_optimizer", alias).unwrap_python_model()
    execution = model_registry.load("execution", alias).unwrap_python_model()
    shadow = None
    challenger = model_registry.alias_version(
        client, model_registry.model_name("market_analyst"), model_registry.CHALLENGER
    )
    if alias == model_registry.CHAMPION and challenger not in (None, versions["market_analyst"]):
        model = model_registry.load("market_analyst", model_registry.CHALLENGER)
        shadow = ShadowAnalyst(MarketAnalyst(model.unwrap_python_model().model), challenger)
    shadow_agents = (
        load_agent_challengers(client, versions) if alias == model_registry.CHAMPION else {}
    )
    execution_rl = load_rl_scheduler(client, alias)
    if execution_rl is not None:
        versions[RL] = execution_rl.version
    return DeskModels(
        signal_model=analyst.model,
        regime_model=analyst.regime,
        sectors=dict(optimizer.sectors),
        risk_limits=risk.limits,
        optimizer_config=optimizer.config,
        execution_policy=replace(ExecutionPolicy(), half_spread=execution.half_spread),
        versions=versions,
        execution_rl=execution_rl,
        shadow_analyst=shadow,
        shadow_agents=shadow_agents,
    )


def load_agent_challengers(
    client: MlflowClient, champions: dict[str, str]
) -> dict[str, AgentChallenger]:
    """Each of the three agents' challenger, when one is registered beside its champion."""
    out = {}
    for agent in AGENTS:
        version = model_registry.alias_version(
            client, model_registry.model_name(agent), model_registry.CHALLENGER
        )
        if version in (None, champions[agent]):
            continue
        # This version exactly: the alias may move while the desk is built.
        uri = f"models:/{model_registry.model_name(agent)}/{version}"
        model = model_registry.load_uri(uri).unwrap_python_model()
        out[agent] = AgentChallenger(
            agent, str(version),
            risk_limits=getattr(model, "limits", None),
            optimizer_config=getattr(model, "config", None),
            half_spread=getattr(model, "half_spread", None),
        )  # fmt: skip
    return out


def load_rl_scheduler(client: MlflowClient, alias: str) -> RLScheduler | None:
    """The RL scheduler at ``alias``; None while no version holds it (its gate has not
    promoted one: there is no bootstrap champion)."""
    name = model_registry.model_name(RL)
    if model_registry.alias_version(client, name, alias) is None:
        return None
    version = client.get_model_version_by_alias(name, alias)
    # This version exactly (the alias may have moved since the desk was built), loaded when
    # the first order trades; a partial of a module function, so the desk still pickles.
    uri = f"models:/{name}/{version.version}"
    return RLScheduler(
        version=str(version.version), trained_through=version.tags.get("trained_through"),
        load=partial(_rl_policy, uri),
    )  # fmt: skip


def _rl_policy(uri: str) -> object:
    return model_registry.load_uri(uri).unwrap_python_model().policy


def long_short_limits(
    limits: RiskLimits, optimizer: OptimizerConfig, max_short: float
) -> tuple[RiskLimits, OptimizerConfig]:
    """A long-short book, 1 + s long and s short (s = ``max_short``: 0.3 is a 130/30 book):
    the optimizer may short up to s of its shape, the gross limit and the budget's gross cap
    allow 1 + 2s, the net stays at most 1. ``max_short`` 0 is the long-only book."""
    if max_short < 0:
        raise ValueError(f"max_short must be >= 0 (got {max_short})")
    gross = 1.0 + 2 * max_short
    return (
        replace(
            limits,
            max_gross_exposure=gross,
            max_net_exposure=1.0,
            budget=replace(limits.budget, max_gross=gross),
        ),
        replace(optimizer, max_short=max_short),
    )


def _challengers_too(models: DeskModels, risk, optimizer) -> dict[str, AgentChallenger]:
    """The challengers in shadow with the desk's own settings applied as to the champions
    (``risk`` and ``optimizer`` map a registered limits or config to the desk's), so that
    a challenger differs from its champion only by what was registered."""
    out = dict(models.shadow_agents)
    if (c := out.get("risk_manager")) is not None:
        out["risk_manager"] = replace(c, risk_limits=risk(c.risk_limits))
    if (c := out.get("portfolio_optimizer")) is not None:
        out["portfolio_optimizer"] = replace(c, optimizer_config=optimizer(c.optimizer_config))
    return out


def with_long_short(models: DeskModels, max_short: float) -> DeskModels:
    """The models with the long-short book of ``long_short_limits`` (0: as registered)."""
    if not max_short:
        return models
    limits, optimizer = long_short_limits(models.risk_limits, models.optimizer_config, max_short)
    challengers = _challengers_too(
        models,
        lambda r: long_short_limits(r, models.optimizer_config, max_short)[0],
        lambda o: long_short_limits(models.risk_limits, o, max_short)[1],
    )
    return replace(models, risk_limits=limits, optimizer_config=optimizer,
                   shadow_agents=challengers)  # fmt: skip


def hedged_limits(limits: RiskLimits, enabled: bool, instrument: str | None) -> RiskLimits:
    """The limits with the Risk Manager's hedge switched on or off, and its instrument."""
    return replace(limits, hedge=replace(limits.hedge, enabled=enabled, instrument=instrument))


def with_hedge(models: DeskModels, enabled: bool, instrument: str | None) -> DeskModels:
    """The models with the hedge of ``hedged_limits``."""
    challengers = _challengers_too(
        models, lambda r: hedged_limits(r, enabled, instrument), lambda o: o
    )
    return replace(models, risk_limits=hedged_limits(models.risk_limits, enabled, instrument),
                   shadow_agents=challengers)  # fmt: skip
