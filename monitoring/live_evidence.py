"""Live evidence from the ledger's shadow events (``agents.desk.shadow``): each cycle's
forecasts scored by what prices did by the next cycle, the promotion gate that reads it,
and the rollback check of a champion against its validation band.

Score: the rank IC of a forecast against the realised return from its cycle's prices to the
next shadow event's, per cycle (the Market Analyst's evidence; the consensus scores the
champion's votes on the same moves). A challenger the offline gate admitted is promoted only
with at least ``min_cycles`` scored cycles, a mean IC above the champion's on the same cycles
by a one-sided paired t-test at ``max_p_value``, drift below the threshold and its data
checks passed.

Validation band: the promoted challenger's mean live IC in shadow less ``band_z`` standard
errors, recorded on its version. A champion whose mean IC over its last ``window_cycles``
falls below that band is rolled back. A champion with no band (the bootstrap one, or one a
person promoted) is never rolled back automatically.

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

BAND_TAG = "live_ic_band_lower"
BOOK_COLUMNS = ["cycle_id", "market_time", "version", "champion_book_return",
                "challenger_book_return"]  # fmt: skip


def _rank_ic(forecast: pd.Series, realised: pd.Series) -> float:
    if len(forecast) < 3 or forecast.nunique() < 2 or realised.nunique() < 2:
        return float("nan")
    return float(forecast.rank().corr(realised.rank()))


def _name(version: object) -> str | None:
    return None if version is None else str(version)


def cycle_scores(events: Iterable[Event]) -> pd.DataFrame:
    """One row per scored cycle: its id and time, the challenger's version (None: none ran),
    the champion's version, and both forecasts' rank IC against the move to the next
    shadow event's prices on the names both events priced."""
    events = sorted(events, key=lambda e: e.market_time)
    rows = []
    for now, later in pairwise(events):
        p, q = now.payload, later.payload
        names = [s for s in p["prices"] if s in q["prices"]]
        realised = pd.Series({s: q["prices"][s] / p["prices"][s] - 1 for s in names})
        champion = pd.Series({s: p["champion"][s] for s in names})
        challenger = pd.Series({s: p["challenger"][s] for s in names}) if p["challenger"] else None
        rows.append({
            "cycle_id": now.cycle_id, "market_time": now.market_time,
            # Versions as the registry workflow names them (a ledger may hold ints).
            "version": _name(p["version"]), "champion_version": _name(p["champion_version"]),
            "champion_ic": _rank_ic(champion, realised),
            "challenger_ic": _rank_ic(challenger, realised) if challenger is not None
            else float("nan"),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["cycle_id", "market_time", "version", "champion_version",
                                       "champion_ic", "challenger_ic"])  # fmt: skip


def book_scores(events: Iterable[Event]) -> pd.DataFrame:
    """One row per target the champion set while a challenger ran in shadow: what the
    champion's book and the challenger's would-be book (``agents.desk.shadow``) earned
    from that cycle's prices to the next such target's, on the names both priced."""
    booked = [e for e in sorted(events, key=lambda e: e.market_time)
              if e.payload.get("version") and e.payload.get("books")]  # fmt: skip
    rows = []
    for now, later in pairwise(booked):
        p, q = now.payload, later.payload
        if q["version"] != p["version"]:
            continue
        moves = {s: q["prices"][s] / p["prices"][s] - 1 for s in p["prices"] if s in q["prices"]}

        def earned(weights: dict[str, float], moves: dict[str, float] = moves) -> float:
            return float(sum(w * moves.get(s, 0.0) for s, w in weights.items()))

        books = p["books"]
        rows.append({"cycle_id": now.cycle_id, "market_time": now.market_time,
                     "version": _name(p["version"]),
                     "champion_book_return": earned(books["champion_weights"]),
                     "challenger_book_return": earned(books["challenger_weights"])})  # fmt: skip
    return pd.DataFrame(rows, columns=BOOK_COLUMNS)


def book_evidence(books: pd.DataFrame, version: str) -> dict[str, Any]:
    """The challenger's would-be books against the champion's on the same targets, with a
    one-sided paired t-test (reported beside the gate, not gated on)."""
    rows = books[books["version"] == version]
    ours, theirs = rows["challenger_book_return"], rows["champion_book_return"]
    diff = (ours - theirs).to_numpy()
    p_value = float("nan")
    if len(rows) >= 2 and np.std(diff) > 0:
        p_value = float(stats.ttest_rel(ours, theirs, alternative="greater").pvalue)
    return {"targets": len(rows), "challenger_mean_return": float(ours.mean()) if len(rows)
            else float("nan"), "champion_mean_return": float(theirs.mean()) if len(rows)
            else float("nan"), "p_value": p_value}  # fmt: skip


@dataclass(frozen=True)
class LiveEvidence:
    version: str
    champion_version: str | None
    cycles: int
    challenger_ic: float
    champion_ic: float
    challenger_ic_se: float
    t_stat: float
    p_value: float  # one-sided: the challenger's IC is not above the champion's
    window: str


def live_evidence(scores: pd.DataFrame, version: str) -> LiveEvidence:
    """The challenger ``version`` against the champion on every cycle it ran in shadow."""
    rows = scores[scores["version"] == version].dropna(subset=["challenger_ic", "champion_ic"])
    n = len(rows)
    ours, theirs = rows["challenger_ic"].to_numpy(), rows["champion_ic"].to_numpy()
    if n >= 2 and np.std(ours - theirs) > 0:
        test = stats.ttest_rel(ours, theirs, alternative="greater")
        t_stat, p_value = float(test.statistic), float(test.pvalue)
    else:
        t_stat, p_value = float("nan"), float("nan")
    window = f"{rows['market_time'].min()}..{rows['market_time'].max()}" if n else ""
    return LiveEvidence(
        version=version,
        champion_version=str(rows["champion_version"].iloc[-1]) if n else None,
        cycles=n,
        challenger_ic=float(ours.mean()) if n else float("nan"),
        champion_ic=float(theirs.mean()) if n else float("nan"),
        challenger_ic_se=float(ours.std(ddof=1) / np.sqrt(n)) if n >= 2 else float("nan"),
        t_stat=t_stat,
        p_value=p_value,
        window=window,
    )


@dataclass(frozen=True)
class LivePolicy:
    min_cycles: int = 40  # about three sessions of half-hour cycles
    max_p_value: float = 0.05
    max_drifted_share: float = 0.15  # the design's model-drift threshold
    band_z: float = 2.0
    window_cycles: int = 40


@dataclass(frozen=True)
class LiveDecision:
    promote: bool
    reasons: list[str]
    evidence: LiveEvidence
    band_lower: float | None  # the validation band recorded on promotion
    policy: LivePolicy = field(default_factory=LivePolicy)

    def record(self) -> dict[str, Any]:
        return {"decision": "promote" if self.promote else "refuse", "reasons": self.reasons,
                "evidence": asdict(self.evidence), "band_lower": self.band_lower,
                "policy": asdict(self.policy), "test": "one-sided paired t-test of per-cycle "
                "rank IC, challenger against champion"}  # fmt: skip


def evaluate_live_gate(evidence: LiveEvidence, drifted_share: float, data_quality: str,
                       policy: LivePolicy | None = None, *,
                       offline_gate: str = "passed") -> LiveDecision:  # fmt: skip
    """Every failing condition is a reason; no reason, promote. ``offline_gate``: the daily
    batch's verdict on the version's backtested comparison, which must have admitted it."""
    policy = policy or LivePolicy()
    reasons = []
    if offline_gate not in ("passed", "not_comparable"):
        reasons.append(f"offline gate: {offline_gate} (the daily batch's out-of-sample "
                       "comparison with the champion must admit it first)")  # fmt: skip
    if evidence.cycles < policy.min_cycles:
        reasons.append(f"live evidence: {evidence.cycles} shadow cycles scored "
                       f"(need {policy.min_cycles})")  # fmt: skip
    elif not evidence.p_value < policy.max_p_value:
        reasons.append(
            f"live evidence: rank IC {evidence.challenger_ic:.4f} vs champion "
            f"{evidence.champion_ic:.4f} over {evidence.cycles} cycles, one-sided paired "
            f"t-test p = {evidence.p_value:.3f} (need < {policy.max_p_value})"
        )
    if drifted_share >= policy.max_drifted_share:
        reasons.append(f"drift: {drifted_share:.0%} of features drifted "
                       f"(limit {policy.max_drifted_share:.0%})")  # fmt: skip
    if data_quality != "passed":
        reasons.append(f"data quality of the training data: {data_quality}")
    band = evidence.challenger_ic - policy.band_z * evidence.challenger_ic_se
    return LiveDecision(not reasons, reasons, evidence, None if reasons else band, policy)


@dataclass(frozen=True)
class RollbackCheck:
    due: bool
    reason: str
    recent_ic: float
    cycles: int


def rollback_check(scores: pd.DataFrame, champion_version: str, band_lower: float | None,
                   policy: LivePolicy | None = None) -> RollbackCheck:  # fmt: skip
    """Whether the champion's mean rank IC over its last ``window_cycles`` scored cycles
    fell below its validation band."""
    policy = policy or LivePolicy()
    rows = scores[scores["champion_version"] == champion_version].dropna(subset=["champion_ic"])
    recent = rows["champion_ic"].tail(policy.window_cycles)
    ic = float(recent.mean()) if len(recent) else float("nan")
    if band_lower is None:
        return RollbackCheck(False, "no validation band recorded: never rolled back "
                             "automatically", ic, len(recent))  # fmt: skip
    if len(recent) < policy.window_cycles:
        return RollbackCheck(False, f"{len(recent)} cycles scored as champion (need "
                             f"{policy.window_cycles})", ic, len(recent))  # fmt: skip
    due = ic < band_lower
    reason = (
        f"mean rank IC {ic:.4f} over its last {len(recent)} cycles "
        f"{'below' if due else 'within'} its validation band (lower {band_lower:.4f})"
    )
    return RollbackCheck(due, reason, ic, len(recent))
