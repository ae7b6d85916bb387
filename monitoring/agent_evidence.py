"""Live evidence of the Risk Manager's, Portfolio Optimizer's and Execution Agent's
challengers, from the ledger's ``shadow_agents`` events (``agents.desk.shadow_agents``), and
the gate that reads it. Each agent's evidence is its own:

- **Risk Manager**: each record's 99% VaR forecasts against the book's move to the next
  record (about a day). The score is the quantile (tick) loss at 1%, a proper scoring rule
  for a quantile forecast (lower is better); the challenger's breaches must also pass
  Kupiec's proportion-of-failures test.
- **Portfolio Optimizer**: what each book earned to the next record (higher is better); the
  challenger's realised volatility must stay within a band of what it forecast.
- **Execution Agent**: per cycle that filled, the notional-weighted absolute error of each
  model's expected cost against the realised implementation shortfall (lower is better).

A challenger is promoted only with ``min_observations`` scored observations, a better score
than the champion's on the same observations by a one-sided paired t-test at
``max_p_value`` (observations taken as independent: no autocorrelation correction), its own
check passed, and its training data's checks passed. Its inputs are the desk's prices and
returns, which the data checks cover; there are no features whose drift to measure.

A promoted challenger's validation band is its shadow score ``band_z`` standard errors on
the worse side; a champion whose mean score over its last ``min_observations`` falls
outside it is rolled back (``agent_rollback_check``).

No Dagster import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from agents.desk.ledger import Event
from agents.risk_manager.backtest import kupiec_pvalue

BAND_TAG = "live_score_band"  # on a version the live gate promoted
VAR_LEVEL = 0.99
TRADING_DAYS = 252
# The score each agent is judged on, and whether the challenger's must be lower.
SCORES = {
    "risk_manager": ("tick loss of the 99% VaR", True),
    "portfolio_optimizer": ("realised return of the book", False),
    "execution": ("absolute cost forecast error, bp", True),
}
COLUMNS = ["market_time", "version", "champion_version", "champion", "challenger", "extra"]


def _book_return(weights: dict[str, float], now: dict, later: dict) -> float:
    return float(sum(w * (later[s] / now[s] - 1) for s, w in weights.items()
                     if s in now and s in later))  # fmt: skip


def _tick_loss(var: float, realised: float, alpha: float = 1 - VAR_LEVEL) -> float:
    quantile = -var
    return float((alpha - (realised < quantile)) * (realised - quantile))


def _daily_rows(events: list[Event], agent: str) -> list[dict]:
    rows, records, days = [], [], set()
    for event in events:  # the first record of each session: the champion re-sets its
        day = event.payload.get("day")  # target when its signals change, not only daily
        if agent in event.payload and day not in days:
            records.append(event)
            days.add(day)
    for now, later in pairwise(records):
        part, p, q = now.payload[agent], now.payload["prices"], later.payload["prices"]
        row = {"market_time": now.market_time, "version": part["version"],
               "champion_version": part["champion_version"]}  # fmt: skip
        if agent == "risk_manager":
            realised = _book_return(part["book"], p, q)
            theirs = part["challenger_var_99"]
            row |= {
                "champion": _tick_loss(part["champion_var_99"], realised),
                "challenger": _tick_loss(theirs, realised) if theirs is not None else np.nan,
                "extra": float(realised < -theirs) if theirs is not None else np.nan,
            }  # breach of the challenger's VaR
        else:
            theirs = part["challenger_weights"]
            row |= {
                "champion": _book_return(part["champion_weights"], p, q),
                "challenger": _book_return(theirs, p, q) if theirs is not None else np.nan,
                "extra": part["challenger_forecast_volatility"] or np.nan,
            }
        rows.append(row)
    return rows


def _execution_rows(events: list[Event]) -> list[dict]:
    rows = []
    for event in events:
        part = event.payload.get("execution")
        if part is None:
            continue
        orders = pd.DataFrame(part["orders"])
        weight = orders["notional"] / orders["notional"].sum()

        def error(column: str, orders=orders, weight=weight) -> float:
            if orders[column].isna().any():
                return np.nan
            return float((weight * (orders[column] - orders["shortfall"]).abs()).sum() * 1e4)

        rows.append({"market_time": event.market_time, "version": part["version"],
                     "champion_version": part["champion_version"],
                     "champion": error("champion_cost"), "challenger": error("challenger_cost"),
                     "extra": np.nan})  # fmt: skip
    return rows


def agent_scores(events: Iterable[Event], agent: str) -> pd.DataFrame:
    """One row per scored observation of ``agent``: its time, versions, both scores and, for
    the risk manager, whether the challenger's VaR was breached; for the optimizer, the
    challenger's forecast volatility."""
    events = sorted(events, key=lambda e: e.market_time)
    rows = _execution_rows(events) if agent == "execution" else _daily_rows(events, agent)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("version", "champion_version"):
        frame[column] = frame[column].map(lambda v: None if v is None else str(v))
    return frame


@dataclass(frozen=True)
class AgentEvidence:
    agent: str
    version: str
    champion_version: str | None
    observations: int
    score: str
    challenger_score: float
    champion_score: float
    challenger_score_se: float
    t_stat: float
    p_value: float  # one-sided: the challenger scores no better than the champion
    check: str  # the agent's own check on the challenger, as a sentence
    check_passed: bool
    window: str


@dataclass(frozen=True)
class AgentLivePolicy:
    # Observations each agent needs: a one-day VaR about a quarter of trading days (Kupiec's
    # test still has little power there: 2.5 breaches expected), the optimizer two months,
    # the cost model as many filled cycles as the analyst's shadow cycles.
    min_observations: dict[str, int] = field(default_factory=lambda: {
        "risk_manager": 60, "portfolio_optimizer": 40, "execution": 40})  # fmt: skip
    max_p_value: float = 0.05
    kupiec_min_p_value: float = 0.05
    volatility_ratio_band: tuple[float, float] = (2 / 3, 1.5)  # realised over forecast
    band_z: float = 2.0  # the validation band: the shadow score this many errors worse


def _own_check(agent: str, rows: pd.DataFrame, policy: AgentLivePolicy) -> tuple[str, bool]:
    n = len(rows)
    if agent == "risk_manager":
        breaches = int(rows["extra"].sum())
        p = kupiec_pvalue(breaches, n, VAR_LEVEL) if n else float("nan")
        return (f"{breaches} breaches of its 99% VaR in {n} days, Kupiec p = {p:.3f} "
                f"(need >= {policy.kupiec_min_p_value})",
                bool(p >= policy.kupiec_min_p_value))  # fmt: skip
    if agent == "portfolio_optimizer":
        realised = float(rows["challenger"].std(ddof=1) * TRADING_DAYS**0.5) if n > 1 else np.nan
        forecast = float(rows["extra"].mean()) if n else np.nan
        ratio = realised / forecast if forecast else np.nan
        low, high = policy.volatility_ratio_band
        return (f"realised volatility {realised:.4f} against forecast {forecast:.4f} "
                f"(ratio {ratio:.2f}, band {low:.2f}-{high:.2f})",
                bool(low <= ratio <= high))  # fmt: skip
    return "no check beyond the score", True


def agent_evidence(scores: pd.DataFrame, agent: str, version: str,
                   policy: AgentLivePolicy | None = None) -> AgentEvidence:  # fmt: skip
    """The challenger ``version`` against the champion on every observation it ran beside it."""
    policy = policy or AgentLivePolicy()
    rows = scores[scores["version"] == version].dropna(subset=["challenger", "champion"])
    n, (name, lower) = len(rows), SCORES[agent]
    ours, theirs = rows["challenger"].to_numpy(), rows["champion"].to_numpy()
    t_stat = p_value = float("nan")
    if n >= 2 and np.std(ours - theirs) > 0:
        test = stats.ttest_rel(ours, theirs, alternative="less" if lower else "greater")
        t_stat, p_value = float(test.statistic), float(test.pvalue)
    check, passed = _own_check(agent, rows, policy)
    return AgentEvidence(
        agent=agent, version=version,
        champion_version=str(rows["champion_version"].iloc[-1]) if n else None,
        observations=n, score=name,
        challenger_score=float(ours.mean()) if n else float("nan"),
        champion_score=float(theirs.mean()) if n else float("nan"),
        challenger_score_se=float(ours.std(ddof=1) / np.sqrt(n)) if n >= 2 else float("nan"),
        t_stat=t_stat, p_value=p_value, check=check, check_passed=passed,
        window=f"{rows['market_time'].min()}..{rows['market_time'].max()}" if n else "",
    )  # fmt: skip


@dataclass(frozen=True)
class AgentDecision:
    promote: bool
    reasons: list[str]
    evidence: AgentEvidence
    policy: AgentLivePolicy = field(default_factory=AgentLivePolicy)

    @property
    def band(self) -> float | None:
        """The validation band recorded on promotion: the challenger's mean shadow score
        ``band_z`` standard errors on the worse side (None: not promoted)."""
        if not self.promote:
            return None
        lower_is_better = SCORES[self.evidence.agent][1]
        margin = self.policy.band_z * self.evidence.challenger_score_se
        return self.evidence.challenger_score + (margin if lower_is_better else -margin)

    def record(self) -> dict[str, Any]:
        direction = "lower" if SCORES[self.evidence.agent][1] else "higher"
        return {"decision": "promote" if self.promote else "refuse", "reasons": self.reasons,
                "evidence": asdict(self.evidence), "policy": asdict(self.policy),
                "band": self.band,
                "test": f"one-sided paired t-test of the per-observation {self.evidence.score}, "
                f"challenger {direction} than champion"}  # fmt: skip


def evaluate_agent_gate(evidence: AgentEvidence, data_quality: str,
                        policy: AgentLivePolicy | None = None) -> AgentDecision:  # fmt: skip
    """Every failing condition is a reason; no reason, promote."""
    policy = policy or AgentLivePolicy()
    need, reasons = policy.min_observations[evidence.agent], []
    scored = (
        f"{evidence.score} {evidence.challenger_score:.6g} vs champion "
        f"{evidence.champion_score:.6g} over {evidence.observations} observations"
    )
    if evidence.observations < need:
        reasons.append(f"live evidence: {evidence.observations} observations in shadow "
                       f"(need {need})")  # fmt: skip
    elif not np.isfinite(evidence.p_value):
        reasons.append(f"live evidence: {scored}: the challenger scored exactly as the "
                       "champion on every observation (the same parameters?)")  # fmt: skip
    elif not evidence.p_value < policy.max_p_value:
        reasons.append(f"live evidence: {scored}, one-sided paired t-test p = "
                       f"{evidence.p_value:.3f} (need < {policy.max_p_value})")  # fmt: skip
    # The agent's own check is judged on as much evidence as the score (before, it is noise).
    if evidence.observations >= need and not evidence.check_passed:
        reasons.append(f"{evidence.agent} check: {evidence.check}")
    if data_quality != "passed":
        reasons.append(f"data quality of the training data: {data_quality}")
    return AgentDecision(not reasons, reasons, evidence, policy)


@dataclass(frozen=True)
class AgentRollbackCheck:
    due: bool
    reason: str
    recent_score: float
    observations: int


def agent_rollback_check(scores: pd.DataFrame, agent: str, champion_version: str,
                         band: float | None, policy: AgentLivePolicy | None = None,
                         ) -> AgentRollbackCheck:  # fmt: skip
    """Whether the champion's mean score over its last ``min_observations`` fell on the
    worse side of its validation band. A champion with no band (the bootstrap one, one a
    person promoted) is never rolled back automatically."""
    policy = policy or AgentLivePolicy()
    need, (name, lower_is_better) = policy.min_observations[agent], SCORES[agent]
    rows = scores[scores["champion_version"] == champion_version].dropna(subset=["champion"])
    recent = rows["champion"].tail(need)
    score = float(recent.mean()) if len(recent) else float("nan")
    if band is None:
        return AgentRollbackCheck(False, "no validation band recorded: never rolled back "
                                  "automatically", score, len(recent))  # fmt: skip
    if len(recent) < need:
        return AgentRollbackCheck(False, f"{len(recent)} observations scored as champion "
                                  f"(need {need})", score, len(recent))  # fmt: skip
    due = score > band if lower_is_better else score < band
    reason = (f"mean {name} {score:.6g} over its last {len(recent)} observations "
              f"{'outside' if due else 'within'} its validation band ({band:.6g})")  # fmt: skip
    return AgentRollbackCheck(due, reason, score, len(recent))
