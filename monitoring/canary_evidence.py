"""The canary's evidence from the ledger (``agents.desk.canary``): each cycle's return of the
canary sub-book, traded by the analyst's challenger, beside the main book's, on the same
cycles, and what each earned since the canary started.

The live gate reports it beside its shadow rank IC; it does not gate on it. A few sessions
of a sub-book's P&L say little about skill (its standard error dwarfs any edge a model has
at this horizon), while every canary cycle is also a shadow cycle whose rank IC the gate
does test.

No Dagster import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd
from scipy import stats

from agents.desk.ledger import Event

COLUMNS = ["cycle_id", "market_time", "version", "canary_return", "main_return",
           "canary_pnl_usd", "main_pnl_usd"]  # fmt: skip


def cycle_returns(events: Iterable[Event]) -> pd.DataFrame:
    """One row per cycle of a running canary after its first: the challenger's version,
    the canary's and the main book's return since the previous record of the same canary."""
    rows = []
    ordered = sorted(events, key=lambda e: e.market_time)
    for before, now in pairwise(ordered):
        p, q = before.payload, now.payload
        same = q.get("version") and q.get("started_cycle") == p.get("started_cycle")
        if not same or not p["nav_cents"] or not p["main_nav_cents"]:
            continue
        rows.append({
            "cycle_id": now.cycle_id, "market_time": now.market_time,
            "version": str(q["version"]),
            "canary_return": q["nav_cents"] / p["nav_cents"] - 1,
            "main_return": q["main_nav_cents"] / p["main_nav_cents"] - 1,
            "canary_pnl_usd": q["pnl_cents"] / 100, "main_pnl_usd": q["main_pnl_cents"] / 100,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


@dataclass(frozen=True)
class CanaryEvidence:
    version: str
    cycles: int
    canary_return: float  # compounded over the cycles
    main_return: float
    canary_pnl_usd: float  # since the canary started
    main_pnl_usd: float
    mean_excess_return: float  # per cycle, canary less main
    p_value: float  # one-sided paired t-test: the canary's return is not above the main's


def canary_evidence(returns: pd.DataFrame, version: str) -> CanaryEvidence | None:
    """The canary of ``version`` against the main book on the same cycles; None when it
    has not traded a cycle yet."""
    rows = returns[returns["version"] == str(version)]
    if rows.empty:
        return None
    ours, theirs = rows["canary_return"].to_numpy(), rows["main_return"].to_numpy()
    p_value = float("nan")
    if len(rows) >= 2 and np.std(ours - theirs) > 0:
        p_value = float(stats.ttest_rel(ours, theirs, alternative="greater").pvalue)
    last = rows.iloc[-1]
    return CanaryEvidence(
        version=str(version),
        cycles=len(rows),
        canary_return=float(np.prod(1 + ours) - 1),
        main_return=float(np.prod(1 + theirs) - 1),
        canary_pnl_usd=float(last["canary_pnl_usd"]),
        main_pnl_usd=float(last["main_pnl_usd"]),
        mean_excess_return=float(np.mean(ours - theirs)),
        p_value=p_value,
    )
