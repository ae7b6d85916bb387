"""The Market Analyst's bootstrap gate: with no champion yet there is nothing to beat, but a
first version still becomes champion only when

(a) **it forecast out of sample**: its own walk-forward predictions (each made by a fold
    trained strictly before the day) have a mean daily rank IC above zero by a one-sided
    t-test at ``max_p_value``, on at least ``min_days`` labelled days;
(b) **its serving window has not drifted** from its training reference (below 0.15);
(c) **its training data passed the data-quality checks**.

Refused, it stays challenger and the registry has no champion: the desk trades nothing and
its runs say why (``agents.desk.models.NoChampion``). No Dagster import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from agents.market_analyst.registration import AnalystVersion
from features.windows import with_dates
from monitoring.drift import DriftSummary
from monitoring.drift_records import RecordedDrift


@dataclass(frozen=True)
class BootstrapPolicy:
    min_days: int = 20  # as the head-to-head gate's common window
    max_p_value: float = 0.05
    max_drifted_share: float = 0.15  # the design's model-drift threshold


@dataclass(frozen=True)
class BootstrapEvidence:
    oos_rank_ic: float  # mean of the daily rank ICs
    oos_rank_ic_t: float
    p_value: float  # one-sided: the mean daily rank IC is not above zero
    oos_days: int
    window: str
    drifted_share: float
    drifted_features: list[str]
    data_quality: str


@dataclass(frozen=True)
class BootstrapDecision:
    promote: bool
    reasons: list[str]
    evidence: BootstrapEvidence
    policy: BootstrapPolicy = field(default_factory=BootstrapPolicy)

    def record(self) -> dict[str, Any]:
        return {"decision": "promote" if self.promote else "refuse", "gate": "bootstrap",
                "reasons": self.reasons, "evidence": asdict(self.evidence),
                "policy": asdict(self.policy), "test": "one-sided t-test of the daily "
                "out-of-sample rank IC against zero"}  # fmt: skip


def daily_rank_ic(version: AnalystVersion, labels: pd.DataFrame) -> pd.Series:
    """The version's walk-forward predictions against the labels they forecast, one rank IC
    per day with at least three names."""
    label = f"forward_excess_return_{version.horizon_days}d"
    realised = with_dates(labels)[["date", "symbol", label]]
    oos = version.out_of_sample[["date", "symbol", "prediction"]]
    oos = oos.assign(date=pd.to_datetime(oos["date"]).dt.tz_localize(None).dt.normalize())
    rows = oos.merge(realised, on=["date", "symbol"])
    rows = rows.dropna(subset=["prediction", label])
    ranked = rows.groupby("date")[["prediction", label]].rank()
    ranked["date"] = rows["date"]
    counts = rows.groupby("date")["symbol"].transform("size")
    ranked = ranked[counts > 2]
    return ranked.groupby("date").apply(
        lambda d: d["prediction"].corr(d[label]), include_groups=False
    ).dropna()  # fmt: skip


def bootstrap_evidence(version: AnalystVersion, drift: DriftSummary | RecordedDrift,
                       labels: pd.DataFrame) -> BootstrapEvidence:  # fmt: skip
    ics = daily_rank_ic(version, labels)
    n = len(ics)
    t_stat = p_value = float("nan")
    if n >= 2 and ics.std() > 0:
        test = stats.ttest_1samp(ics.to_numpy(), 0.0, alternative="greater")
        t_stat, p_value = float(test.statistic), float(test.pvalue)
    return BootstrapEvidence(
        oos_rank_ic=float(ics.mean()) if n else float("nan"),
        oos_rank_ic_t=t_stat, p_value=p_value, oos_days=n,
        window=f"{ics.index.min().date()}..{ics.index.max().date()}" if n else "",
        drifted_share=drift.drifted_share, drifted_features=list(drift.drifted_features),
        data_quality=version.data_quality,
    )  # fmt: skip


def evaluate_bootstrap(evidence: BootstrapEvidence,
                       policy: BootstrapPolicy | None = None) -> BootstrapDecision:  # fmt: skip
    """All of (a), (b), (c) or no champion; every failing condition is a reason."""
    policy = policy or BootstrapPolicy()
    reasons = []
    if evidence.oos_days < policy.min_days:
        reasons.append(f"out of sample: {evidence.oos_days} days of walk-forward forecasts "
                       f"(need {policy.min_days})")  # fmt: skip
    elif not evidence.p_value < policy.max_p_value:
        reasons.append(
            f"out of sample: mean daily rank IC {evidence.oos_rank_ic:.4f} over "
            f"{evidence.oos_days} days, one-sided t-test p = {evidence.p_value:.3f} "
            f"(need < {policy.max_p_value})"
        )
    if not np.isfinite(evidence.drifted_share) or (
        evidence.drifted_share >= policy.max_drifted_share
    ):
        names = ", ".join(evidence.drifted_features[:8])
        reasons.append(
            f"drift: {evidence.drifted_share:.0%} of features drifted from its "
            f"training reference (limit {policy.max_drifted_share:.0%}): {names}"
        )
    if evidence.data_quality != "passed":
        reasons.append(f"data quality of the training data: {evidence.data_quality}")
    return BootstrapDecision(not reasons, reasons, evidence, policy)


def bootstrap_reason(decision: BootstrapDecision) -> str:
    if decision.reasons:
        return "bootstrap gate: " + "; ".join(decision.reasons)
    e = decision.evidence
    return (
        f"bootstrap gate passed: out-of-sample mean daily rank IC {e.oos_rank_ic:.4f} over "
        f"{e.oos_days} days (t = {e.oos_rank_ic_t:.2f}, p = {e.p_value:.2g}), "
        f"{e.drifted_share:.0%} of features drifted, training data {e.data_quality}"
    )
