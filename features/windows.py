"""Windows over the analyst's feature rows, in sessions of the feature exports:

    ... reference (504 sessions) | serving window (the last 63 sessions) |

The reference is what a model was trained and walk-forward scored on (features, its
out-of-sample prediction, the realised label), ending where the serving window starts, so
the two never overlap. Plain pandas; the registration and the drift checks share them.
"""

from __future__ import annotations

import pandas as pd

from features.names import ANALYST_FEATURES

PREDICTION, TARGET = "prediction", "target"  # the reference's model output and label columns
SERVING_WINDOW_SESSIONS = 63
REFERENCE_SESSIONS = 504
MAX_REFERENCE_ROWS = 20_000


def session_dates(event_timestamp: pd.Series) -> pd.Series:
    """The session (naive midnight) of each feature timestamp."""
    return pd.to_datetime(event_timestamp).dt.tz_localize(None).dt.normalize()


def with_dates(rows: pd.DataFrame) -> pd.DataFrame:
    """Adds ``date`` (the session, naive) from ``event_timestamp``."""
    out = rows.copy()
    out["date"] = session_dates(out["event_timestamp"])
    return out


def serving_window_start(features: pd.DataFrame, sessions: int = SERVING_WINDOW_SESSIONS):
    days = sorted(with_dates(features)["date"].unique())
    return pd.Timestamp(days[max(0, len(days) - sessions)])


def serving_window(
    features: pd.DataFrame, sessions: int = SERVING_WINDOW_SESSIONS, end=None
) -> pd.DataFrame:
    """The last ``sessions`` closes of served features (up to ``end``, when given)."""
    rows = with_dates(features)
    if end is not None:
        rows = rows[rows["date"] <= pd.Timestamp(end)]
    days = sorted(rows["date"].unique())[-sessions:]
    return rows[rows["date"].isin(days)].reset_index(drop=True)


def reference_rows(
    training: pd.DataFrame,
    out_of_sample: pd.DataFrame,
    label: str,
    before,
    sessions: int = REFERENCE_SESSIONS,
) -> pd.DataFrame:
    """The drift reference: the last ``sessions`` days before ``before`` of walk-forward
    rows (features, out-of-sample prediction, realised label), sampled to a bounded size."""
    rows = with_dates(training)
    rows = rows[rows["date"] < pd.Timestamp(before)]
    scored = rows.merge(
        out_of_sample[["date", "symbol", "prediction"]], on=["date", "symbol"], how="inner"
    )
    days = sorted(scored["date"].unique())[-sessions:]
    scored = scored[scored["date"].isin(days)]
    if len(scored) > MAX_REFERENCE_ROWS:
        scored = scored.sample(MAX_REFERENCE_ROWS, random_state=0)
    out = scored[["date", "symbol", *ANALYST_FEATURES, "prediction"]].copy()
    out[TARGET] = scored[label].to_numpy()
    return out.sort_values(["date", "symbol"], ignore_index=True)


def window_end(window: pd.DataFrame) -> str:
    """The serving window's last session, as the drift records name it (YYYY-MM-DD)."""
    return str(window["date"].max().date())
