"""Drift of a model's inputs, outputs and accuracy: Evidently reports, headline numbers out.

A report compares a *current* window (the features a model serves on, recent days) with the
model's *reference* (a sample of the rows it was trained on, with its out-of-sample
predictions and realised labels). Per feature, Evidently's normed Wasserstein distance: the
feature drifted when the distance reaches its threshold: ``column_distance`` (0.1, Evidently's
own default for large samples; a p-value test would flag every feature on thousands of
autocorrelated rows), or a per-feature threshold calibrated on the reference itself (see
``calibrated_column_thresholds``). The headline is the share of drifted features, held
against the design's model-drift threshold (0.15). Prediction drift is the same distance on
the prediction column; performance drift compares rank IC on the rows whose labels have
matured with the reference's.

No Dagster import: assets and the sensor call this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Regression, Report
from evidently.metrics import MAE, RMSE, MeanError, ValueDrift
from evidently.presets import DataDriftPreset
from scipy import stats

from features.windows import PREDICTION, TARGET

MIN_MATURED_ROWS = 30  # fewer labelled rows than this say nothing about accuracy


@dataclass(frozen=True)
class DriftThresholds:
    column_distance: float = 0.1  # normed Wasserstein distance at which a column drifted
    max_drifted_share: float = 0.15  # the design's model-drift threshold


def calibrated_column_thresholds(
    reference: pd.DataFrame, columns: list[str], window_sessions: int, floor: float
) -> dict[str, float]:
    """Per column, the largest normed Wasserstein distance between one block of
    ``window_sessions`` days of the reference and the whole reference (never below
    ``floor``): how far a window of this length moved while the model was trained.

    Market features are autocorrelated: a quarter of 12-month momentum is a handful of
    independent observations, so a fixed 0.1 flags every quarter as drifted, even inside the
    training period. A window that moves further than any of the model's own quarters did
    is drift in the sense that matters: conditions the model has not seen.
    """
    days = np.sort(reference["date"].unique())
    blocks = [days[i : i + window_sessions] for i in range(0, len(days), window_sessions)]
    blocks = [b for b in blocks if len(b) == window_sessions] or [days]
    out = {}
    for column in columns:
        whole = reference[column].dropna().to_numpy()
        if not len(whole):
            continue
        norm = max(float(np.std(whole)), 0.001)  # as Evidently norms it
        widest = 0.0
        for block in blocks:
            part = reference.loc[reference["date"].isin(block), column].dropna().to_numpy()
            if len(part):
                widest = max(widest, stats.wasserstein_distance(whole, part) / norm)
        out[column] = float(max(floor, round(widest, 4)))
    return out


@dataclass(frozen=True)
class DriftSummary:
    drifted_share: float
    drifted_features: list[str]
    feature_scores: dict[str, float]
    prediction_score: float | None
    reference_rows: int
    current_rows: int
    matured_rows: int
    reference_rank_ic: float | None
    current_rank_ic: float | None
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)
    html_path: str | None = None
    unmeasured_features: list[str] = field(default_factory=list)  # empty on one side
    column_thresholds: dict[str, float] = field(default_factory=dict)
    # The Evidently report's own dataset verdict: its drifted share and the share at which it
    # calls the dataset drifted (Quorum's max_drifted_share, so the report and the gate agree).
    report_drift: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.drifted_share < self.thresholds.max_drifted_share

    @property
    def prediction_drifted(self) -> bool | None:
        if self.prediction_score is None:
            return None
        limit = self.column_thresholds.get(PREDICTION, self.thresholds.column_distance)
        return self.prediction_score >= limit

    def headline(self) -> dict[str, float | int | str | None]:
        """The numbers a quant reads first; for metadata, tags and the ledger."""
        return {
            "drifted_feature_share": round(self.drifted_share, 4),
            "drifted_features": len(self.drifted_features),
            "measured_features": len(self.feature_scores),
            "unmeasured_features": len(self.unmeasured_features),
            "max_drifted_share": self.thresholds.max_drifted_share,
            "drift_passed": self.passed,
            "prediction_drift_score": _rounded(self.prediction_score),
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "matured_rows": self.matured_rows,
            "reference_rank_ic": _rounded(self.reference_rank_ic),
            "current_rank_ic": _rounded(self.current_rank_ic),
        }


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: list[str],
    *,
    thresholds: DriftThresholds | None = None,
    html_path: Path | None = None,
    title: str | None = None,
    column_thresholds: dict[str, float] | None = None,
) -> DriftSummary:
    """Evidently's drift report of ``current`` against ``reference``.

    Both frames hold ``features``; optionally ``prediction`` (the model's forecast) and
    ``target`` (the realised label, NaN until it matures), and ``date`` for rank IC.
    ``column_thresholds`` override ``thresholds.column_distance`` per column.
    """
    thresholds = thresholds or DriftThresholds()
    missing = {
        name: sorted(set(features) - set(frame.columns))
        for name, frame in (("reference", reference), ("current", current))
        if set(features) - set(frame.columns)
    }
    if missing:
        raise ValueError(f"drift report: frames lack feature columns {missing}")
    if reference.empty or current.empty:
        raise ValueError(
            f"drift report needs rows on both sides: reference {len(reference)}, "
            f"current {len(current)}"
        )
    # A feature with no values on one side (volume features on close-only data) cannot drift
    # or not: it is reported as unmeasured and left out of the share.
    unmeasured = [f for f in features if reference[f].isna().all() or current[f].isna().all()]
    features = [f for f in features if f not in unmeasured]
    if not features:
        raise ValueError(f"drift report: every feature is empty on one side: {unmeasured}")
    has_prediction = PREDICTION in reference and PREDICTION in current
    matured = current[TARGET].notna() if TARGET in current else pd.Series(False, current.index)
    limit = {
        c: (column_thresholds or {}).get(c, thresholds.column_distance)
        for c in [*features, PREDICTION]
    }
    metrics: list = [
        DataDriftPreset(
            columns=features,
            method="wasserstein",
            threshold=thresholds.column_distance,
            per_column_threshold={f: limit[f] for f in features},
            # The report's headline ("Dataset Drift is detected") at Quorum's share, not
            # Evidently's default 0.5: a quant reading it gets the gate's verdict.
            drift_share=thresholds.max_drifted_share,
        )
    ]
    if has_prediction:
        metrics.append(
            ValueDrift(column=PREDICTION, method="wasserstein", threshold=limit[PREDICTION])
        )
    regression = has_prediction and int(matured.sum()) >= MIN_MATURED_ROWS
    if regression:
        metrics += [MeanError(), MAE(), RMSE()]
    columns = [*features, *([PREDICTION] if has_prediction else [])]
    columns += [TARGET] if regression else []
    definition = DataDefinition(
        numerical_columns=columns,
        regression=[Regression(target=TARGET, prediction=PREDICTION)] if regression else None,
    )
    # Evidently's regression metrics skip rows whose target is still NaN; drift reads all.
    snapshot = Report(metrics).run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
        name=title,
    )
    scores = _value_drift(snapshot)
    feature_scores = {f: scores[f] for f in features if f in scores}
    drifted = [f for f, s in feature_scores.items() if s >= limit[f]]
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(html_path))
    return DriftSummary(
        drifted_share=len(drifted) / len(features),
        drifted_features=drifted,
        feature_scores=feature_scores,
        prediction_score=scores.get(PREDICTION),
        reference_rows=len(reference),
        current_rows=len(current),
        matured_rows=int(matured.sum()),
        reference_rank_ic=_rank_ic(reference),
        current_rank_ic=_rank_ic(current.loc[matured]),
        thresholds=thresholds,
        html_path=str(html_path) if html_path is not None else None,
        unmeasured_features=unmeasured,
        column_thresholds={c: limit[c] for c in [*features, PREDICTION]},
        report_drift=_dataset_drift(snapshot),
    )


def _value_drift(snapshot) -> dict[str, float]:
    """Column -> drift score, from the snapshot's ValueDrift results."""
    scores = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("ValueDrift"):
            scores[config["column"]] = float(metric["value"])
    return scores


def _dataset_drift(snapshot) -> dict[str, float]:
    """The report's DriftedColumnsCount: drifted share and its dataset threshold."""
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("DriftedColumnsCount"):
            return {"share": float(metric["value"]["share"]),
                    "drift_share": float(config["drift_share"])}  # fmt: skip
    return {}


def _rank_ic(frame: pd.DataFrame) -> float | None:
    """Mean per-day Spearman correlation of prediction and target across symbols."""
    if not {PREDICTION, TARGET, "date"} <= set(frame.columns):
        return None
    labelled = frame.dropna(subset=[PREDICTION, TARGET])
    if len(labelled) < MIN_MATURED_ROWS:
        return None
    by_day = labelled.groupby("date")[[PREDICTION, TARGET]].apply(
        lambda d: d[PREDICTION].rank().corr(d[TARGET].rank()) if len(d) > 2 else np.nan
    )
    by_day = by_day.dropna()
    return float(by_day.mean()) if len(by_day) else None


def _rounded(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)
