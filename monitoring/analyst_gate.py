"""The Market Analyst's promotion evidence: the head-to-head of challenger and champion on
the days both are out of sample, with the challenger's drift and training-data quality.
No Dagster import.
"""

from __future__ import annotations

import pandas as pd

from agents.market_analyst.registration import AnalystVersion
from features.sequences import with_sequence_windows
from features.windows import with_dates
from monitoring.drift import DriftSummary
from monitoring.drift_records import RecordedDrift
from monitoring.promotion import GateEvidence, head_to_head


def head_to_head_rows(
    challenger: AnalystVersion, champion: AnalystVersion, labels: pd.DataFrame
) -> pd.DataFrame:
    """Rows out of sample for both: labelled days after the champion's training data ended
    (and its label horizon), where the challenger has a walk-forward prediction."""
    label = f"forward_excess_return_{challenger.horizon_days}d"
    # windows before the cut, so the first rows after it still see their own past
    rows = with_sequence_windows(with_dates(labels))
    sessions = sorted(rows["date"].unique())
    later = [d for d in sessions if d > champion.trained_through]
    if len(later) <= champion.horizon_days:
        return pd.DataFrame(columns=["date", "symbol", "realized", "challenger", "champion"])
    first = later[champion.horizon_days]
    rows = rows[rows["date"] >= first]
    oos = challenger.out_of_sample[["date", "symbol", "prediction"]].rename(
        columns={"prediction": "challenger"}
    )
    rows = rows.merge(oos, on=["date", "symbol"], how="inner")
    if rows.empty:
        return pd.DataFrame(columns=["date", "symbol", "realized", "challenger", "champion"])
    rows["champion"] = champion.predict(rows).to_numpy()
    rows["realized"] = rows[label].to_numpy()
    return rows[["date", "symbol", "realized", "challenger", "champion"]]


def gate_evidence(
    challenger: AnalystVersion,
    champion: AnalystVersion,
    drift: DriftSummary | RecordedDrift,
    labels: pd.DataFrame,
) -> GateEvidence:
    ours, theirs, days, window = head_to_head(head_to_head_rows(challenger, champion, labels))
    return GateEvidence(
        challenger_metric=ours,
        champion_metric=theirs,
        window_days=days,
        window=window,
        drifted_share=drift.drifted_share,
        drifted_features=drift.drifted_features,
        data_quality=challenger.data_quality,
    )
