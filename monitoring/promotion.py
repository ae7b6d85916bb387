"""The offline promotion gate of the champion/challenger workflow (its registry acts are
``monitoring.registry_workflow``).

The daily batch's offline gate admits a challenger to shadow trading only when all three
hold (with no champion yet, the bootstrap gate of ``monitoring.bootstrap_gate`` decides
instead); the live gate (``monitoring.live_acts``) then promotes it on live evidence:

(a) **it forecasts better**: on the same recent window, out of sample for *both* models, its
    metric (rank IC) beats the champion's by ``min_improvement``. The window is every labelled
    day after the champion's training data ended (plus the label horizon, so no champion
    label overlaps it) for which the challenger has a walk-forward prediction made by a fold
    trained strictly before that day. Fewer than ``min_window_days`` such days and there is
    nothing to judge: the gate refuses and says so;
(b) **the data it will serve has not drifted** from its training reference: the share of
    drifted features is below the design's 0.15;
(c) **its training data passed the data-quality checks** (recorded on the version at
    training time).

Its verdict (``GateDecision.offline_verdict``: passed | not_comparable | refused) is tagged
on the version (``OFFLINE_GATE_TAG``); the live gate promotes only a version it admitted.

No Dagster import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class GatePolicy:
    min_improvement: float = 0.0  # rank IC points the challenger must gain
    max_drifted_share: float = 0.15  # the design's model-drift threshold
    min_window_days: int = 20


@dataclass(frozen=True)
class GateEvidence:
    challenger_metric: float | None
    champion_metric: float | None
    window_days: int
    window: str  # "first..last" day of the common window, or "" when there is none
    drifted_share: float
    drifted_features: list[str]
    data_quality: str
    metric: str = "rank_ic"


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: list[str]
    evidence: GateEvidence
    policy: GatePolicy = field(default_factory=GatePolicy)
    # True when the only thing missing is a long enough common window: nothing says the
    # challenger is worse (a version retrained on data barely newer than the champion's).
    not_comparable: bool = False

    @property
    def offline_verdict(self) -> str:
        """The ``OFFLINE_GATE_TAG`` value: passed | not_comparable | refused."""
        if self.promote:
            return "passed"
        return "not_comparable" if self.not_comparable else "refused"

    def record(self) -> dict[str, Any]:
        return {
            "decision": "promote" if self.promote else "refuse",
            "reasons": self.reasons,
            "evidence": asdict(self.evidence),
            "policy": asdict(self.policy),
        }


def evaluate_gate(evidence: GateEvidence, policy: GatePolicy | None = None) -> GateDecision:
    """All of (a), (b), (c) or no promotion; every failing condition is a reason."""
    policy = policy or GatePolicy()
    reasons = []
    short_window = evidence.window_days < policy.min_window_days
    if short_window:
        reasons.append(
            f"performance: only {evidence.window_days} out-of-sample days common to both "
            f"models (need {policy.min_window_days})"
        )
    elif evidence.challenger_metric is None or evidence.champion_metric is None:
        reasons.append("performance: no metric for one of the models on the common window")
    else:
        gain = evidence.challenger_metric - evidence.champion_metric
        if gain <= policy.min_improvement:
            reasons.append(
                f"performance: challenger {evidence.metric} {evidence.challenger_metric:.4f} "
                f"vs champion {evidence.champion_metric:.4f} on {evidence.window} "
                f"(gain {gain:+.4f}, need > {policy.min_improvement:+.4f})"
            )
    if evidence.drifted_share >= policy.max_drifted_share:
        names = ", ".join(evidence.drifted_features[:8])
        reasons.append(
            f"drift: {evidence.drifted_share:.0%} of features drifted from the challenger's "
            f"training reference (limit {policy.max_drifted_share:.0%}): {names}"
        )
    if evidence.data_quality != "passed":
        reasons.append(f"data quality of the training data: {evidence.data_quality}")
    return GateDecision(not reasons, reasons, evidence, policy, short_window and len(reasons) == 1)


def head_to_head(
    frame: pd.DataFrame, challenger: str = "challenger", champion: str = "champion"
) -> tuple[float | None, float | None, int, str]:
    """Rank IC (mean per-day Spearman across symbols) of both forecasts on the same rows:
    ``frame`` has date, realized and the two prediction columns. Returns both metrics, the
    number of days and the window."""
    rows = frame.dropna(subset=[challenger, champion, "realized"])
    if rows.empty:
        return None, None, 0, ""

    def rank_ic(column: str) -> float:
        daily = rows.groupby("date")[[column, "realized"]].apply(
            lambda d: d[column].rank().corr(d["realized"].rank()) if len(d) > 2 else np.nan
        )
        return float(daily.mean())

    days = sorted(rows["date"].unique())
    window = f"{pd.Timestamp(days[0]).date()}..{pd.Timestamp(days[-1]).date()}"
    return rank_ic(challenger), rank_ic(champion), len(days), window
