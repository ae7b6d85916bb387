"""The bootstrap gate of the Risk Manager's, Portfolio Optimizer's and Execution Agent's
first versions: with no champion there is nothing to beat, but a first version becomes
champion only when its own out-of-sample evaluation (the metrics its training run logged,
each made strictly after the data it was fitted on) passes, and its training data passed the
data checks:

- **Risk Manager**: the desk's own forecast VaR (EWMA volatility with Student-t tails) of an
  equal-weight book, backtested day by day. Its 99% breaches over the last 250 days must stay
  out of the Basel Committee's red zone (``agents.risk_manager.backtest``). Kupiec's test on
  the whole history is reported, not gated on: over decades it rejects any real model.
- **Portfolio Optimizer**: the yearly walk-forward of its risk model; the median held-out
  year's realised over forecast volatility must fall in the live gate's band.
- **Execution Agent**: the impact models' calibrated volatility against the volatility of the
  days each would have served (``agents.execution.evaluation``), in the same band. Realised
  costs need fills; the live gate scores those.

The inputs of these models are the desk's prices and returns, which the data checks cover;
there are no features whose drift to measure. Refused, a version stays challenger and the
registry has no champion: the desk trades nothing and its runs say why
(``agents.desk.models.NoChampion``). No Dagster import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agents.risk_manager.backtest import BASEL_RED_BREACHES, BASEL_WINDOW_DAYS
from monitoring.agent_evidence import AgentLivePolicy

AGENTS = ("risk_manager", "portfolio_optimizer", "execution")


@dataclass(frozen=True)
class AgentBootstrapPolicy:
    red_zone_breaches: int = BASEL_RED_BREACHES
    recent_days: int = BASEL_WINDOW_DAYS
    # Realised over forecast volatility: the band the live gate holds a challenger to.
    volatility_ratio_band: tuple[float, float] = AgentLivePolicy().volatility_ratio_band
    min_oos_years: int = 1  # the optimizer's held-out years
    min_oos_blocks: int = 20  # the impact calibration's held-out blocks (names x months)


@dataclass(frozen=True)
class AgentBootstrapDecision:
    agent: str
    version: str
    promote: bool
    reasons: list[str]
    evidence: dict[str, float]  # the training run's out-of-sample metrics the gate read
    data_quality: str
    policy: AgentBootstrapPolicy = field(default_factory=AgentBootstrapPolicy)

    def record(self) -> dict[str, Any]:
        return {"decision": "promote" if self.promote else "refuse", "gate": "bootstrap",
                "reasons": self.reasons, "evidence": self.evidence,
                "data_quality": self.data_quality, "policy": asdict(self.policy)}  # fmt: skip

    def reason(self) -> str:
        if self.reasons:
            return "bootstrap gate: " + "; ".join(self.reasons)
        return f"bootstrap gate passed: {_passed(self.agent, self.evidence)}, training data passed"


def _passed(agent: str, e: dict[str, float]) -> str:
    if agent == "risk_manager":
        return (f"{e['var_99_recent_breaches']:.0f} breaches of the forecast 99% VaR in the "
                f"last {e['var_99_recent_days']:.0f} days (whole history: breach rate "
                f"{e['var_99_breach_rate']:.2%} over {e['days']:.0f} days, Kupiec p = "
                f"{e['var_99_kupiec_pvalue']:.3f})")  # fmt: skip
    optimizer = agent == "portfolio_optimizer"
    held, count = ("years", e["oos_years"]) if optimizer else ("blocks", e["oos_vol_blocks"])
    return (f"median realised over forecast volatility {e['oos_vol_ratio_median']:.2f} over "
            f"{count:.0f} held-out {held}")  # fmt: skip


def _risk_reasons(e: dict[str, float], policy: AgentBootstrapPolicy) -> list[str]:
    days, breaches = e.get("var_99_recent_days", 0.0), e.get("var_99_recent_breaches")
    if days < policy.recent_days or breaches is None:
        return [f"out of sample: {days:.0f} days of forecast VaR backtested "
                f"(need {policy.recent_days})"]  # fmt: skip
    if breaches >= policy.red_zone_breaches:
        red = policy.red_zone_breaches
        return [f"out of sample: {breaches:.0f} breaches of the forecast 99% VaR in the "
                f"last {days:.0f} days, the Basel red zone (from {red})"]  # fmt: skip
    return []


def _volatility_reasons(e: dict[str, float], held: str, need: int,
                        policy: AgentBootstrapPolicy) -> list[str]:  # fmt: skip
    count = e.get(held, 0.0)
    if count < need:
        return [f"out of sample: {count:.0f} held-out {held.removeprefix('oos_')} (need {need})"]
    ratio, (low, high) = e["oos_vol_ratio_median"], policy.volatility_ratio_band
    if not low <= ratio <= high:
        return [f"out of sample: median realised over forecast volatility {ratio:.2f}, "
                f"outside {low:.2f}-{high:.2f}"]  # fmt: skip
    return []


def evaluate_agent_bootstrap(
    agent: str,
    version: str,
    metrics: dict[str, float],
    data_quality: str,
    policy: AgentBootstrapPolicy | None = None,
) -> AgentBootstrapDecision:
    """Every failing condition is a reason; no reason, champion."""
    policy = policy or AgentBootstrapPolicy()
    if agent == "risk_manager":
        reasons = _risk_reasons(metrics, policy)
    elif agent == "portfolio_optimizer":
        reasons = _volatility_reasons(metrics, "oos_years", policy.min_oos_years, policy)
    elif agent == "execution":
        reasons = _volatility_reasons(metrics, "oos_vol_blocks", policy.min_oos_blocks, policy)
    else:
        raise ValueError(f"no bootstrap gate for {agent!r}; one of {AGENTS}")
    if data_quality != "passed":
        reasons.append(f"data quality of the training data: {data_quality}")
    return AgentBootstrapDecision(agent, version, not reasons, reasons, dict(metrics),
                                  data_quality, policy)  # fmt: skip
