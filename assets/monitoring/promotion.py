"""The Market Analyst's drift report and promotion gate, as assets of the daily batch."""

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd

from agents.market_analyst.names import AGENT
from agents.model_names import model_name
from assets.resources import FeastStore, ModelMonitoring
from assets.training.market_analyst import FEATURE_SERVICE, market_analyst_model

if TYPE_CHECKING:
    from monitoring.drift import DriftSummary

MODEL = model_name(AGENT)


def _labels(feast: FeastStore) -> pd.DataFrame:
    return feast.training_set(FEATURE_SERVICE)


def _reasons(reasons: list[str]) -> dg.MetadataValue | str:
    """A gate's reasons as the UI lists them."""
    return (
        dg.MetadataValue.md("\n".join(f"- {r}" for r in reasons))
        if reasons
        else ("all conditions met")
    )


def _drift_metadata(summary: "DriftSummary", version: str, run_id: str, report: str) -> dict:
    from monitoring.report_store import report_link

    return {
        "model": MODEL,
        "version": version,
        "mlflow_run_id": run_id,
        "report_path": dg.MetadataValue.path(report),
        "report": dg.MetadataValue.url(report_link(report)),
        **summary.headline(),
        "drifted_feature_names": ", ".join(summary.drifted_features) or "none",
        "unmeasured_features": ", ".join(summary.unmeasured_features) or "none",
        "prediction_drifted": summary.prediction_drifted,
        "feature_scores": dg.MetadataValue.md(
            pd.DataFrame(
                {
                    "normed_wasserstein": summary.feature_scores,
                    "threshold": {f: summary.column_thresholds[f] for f in summary.feature_scores},
                }
            )
            .sort_values("normed_wasserstein", ascending=False)
            .round(4)
            .to_markdown()
        ),
    }


@dg.asset(
    group_name="monitoring",
    kinds={"evidently", "mlflow"},
    deps=[market_analyst_model],
    check_specs=[dg.AssetCheckSpec("drift_below_threshold", asset="market_analyst_drift")],
)
def market_analyst_drift(
    context: dg.AssetExecutionContext, feast: FeastStore, model_monitoring: ModelMonitoring
):
    """Evidently's report on the challenger's serving window (the last quarter of features)
    against its training reference: per-feature and prediction drift, and accuracy drift on
    labels that matured after its training data. Saved as HTML under the reports' root
    (QUORUM_HOME/reports/drift, or the S3 store's reports/drift when distributed), logged to
    the version's MLflow run, its headline in the ledger."""
    # Evidently, MLflow and the models load with the step, not the code location.
    from agents.desk.ledger import Event
    from agents.model_registry import candidate_version
    from features.vectors import analyst_serving_rows
    from monitoring.drift_records import latest_window_drift, record_drift

    client = model_monitoring.client()
    version = candidate_version(client, MODEL)  # queued behind the challenger, or it
    drift = latest_window_drift(
        client,
        version,
        analyst_serving_rows(feast.exports, model_monitoring.serving_window_sessions),
        _labels(feast),
        sessions=model_monitoring.serving_window_sessions,
        thresholds=model_monitoring.thresholds(),
        html_path=lambda end: model_monitoring.drift_report_path(MODEL, version, end),
    )
    challenger, summary, last_day = drift.version, drift.summary, drift.window_end
    record_drift(client, version, summary, last_day)
    report = model_monitoring.reports().keep(Path(summary.html_path), "drift")
    now = datetime.now(UTC)
    with model_monitoring.workflow() as workflow:
        workflow.log.append(
            [
                Event(
                    # One record per version and window: a retried run writes it once.
                    f"drift/{MODEL}/v{version}/{last_day}",
                    "monitoring",
                    "drift_report",
                    now,
                    {"model": MODEL, "version": version, "window_end": last_day,
                     "report": report, **summary.headline()},
                )
            ]
        )  # fmt: skip
    context.log.info(f"drift report: {report}")
    yield dg.MaterializeResult(
        metadata=_drift_metadata(summary, version, challenger.run_id, report)
    )
    yield dg.AssetCheckResult(
        check_name="drift_below_threshold",
        passed=summary.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"share of drifted features < {summary.thresholds.max_drifted_share}",
        metadata={
            "drifted_feature_share": summary.drifted_share,
            "drifted_features": ", ".join(summary.drifted_features) or "none",
        },
    )


@dg.asset(group_name="monitoring", kinds={"mlflow"}, deps=[market_analyst_drift])
def market_analyst_promotion(
    context: dg.AssetExecutionContext, feast: FeastStore, model_monitoring: ModelMonitoring
) -> dg.MaterializeResult:
    """The offline gate: the challenger is admitted to shadow trading only if it beats the
    champion out of sample on their common window, its serving data has not drifted, and
    its training data passed the quality checks; the paper day's live gate then promotes it
    on shadow evidence, or not. With no champion yet, the challenger faces the bootstrap
    gate instead. The decision and its reasons go to MLflow and the ledger."""
    from agents.market_analyst.registration import load_analyst_version
    from monitoring.analyst_gate import gate_evidence
    from monitoring.drift_records import RecordedDrift
    from monitoring.promotion import evaluate_gate

    client = model_monitoring.client()
    with model_monitoring.workflow() as workflow:
        # The newest version: queued behind a challenger in shadow, or the challenger.
        challenger_version = workflow.candidate(AGENT)
        champion_version = workflow.champion(AGENT)
        if champion_version is None and challenger_version is not None:
            return _bootstrap(context, feast, model_monitoring, workflow, challenger_version)
        if challenger_version is None or challenger_version == champion_version:
            context.log.info("the challenger is the champion: nothing to decide")
            return dg.MaterializeResult(
                metadata={
                    "decision": "none (challenger is champion)",
                    "champion": champion_version,
                    "challenger": challenger_version,
                }
            )
        challenger = load_analyst_version(client, challenger_version)
        champion = load_analyst_version(client, champion_version)
        labels = _labels(feast)
        drift = _window_drift(client, challenger, feast, model_monitoring)
        decision = evaluate_gate(
            gate_evidence(challenger, champion, drift, labels), model_monitoring.policy()
        )
        act = workflow.apply_gate(AGENT, challenger_version, decision)
        queued = workflow.queued(AGENT) == challenger_version
        in_shadow = workflow.challenger(AGENT)
    evidence = decision.evidence
    context.log.info(f"offline gate: {act.act}: {act.reason}")
    return dg.MaterializeResult(
        metadata={
            "decision": {
                "passed": "admitted to shadow",
                "refused": "refused",
                "not_comparable": "admitted to shadow (no common window yet)",
            }[decision.offline_verdict],
            "reasons": _reasons(decision.reasons),
            "challenger": challenger_version,
            # Admitted while another challenger gathers live evidence: it waits for its verdict.
            "queued_behind": in_shadow if queued else "none",
            "champion_before": champion_version,
            "champion_after": act.champion_after,
            "challenger_rank_ic": evidence.challenger_metric,
            "champion_rank_ic": evidence.champion_metric,
            "common_window": evidence.window or "none",
            "common_window_days": evidence.window_days,
            "drifted_feature_share": evidence.drifted_share,
            "drift_evidence": f"drift report {drift.report}"
            if isinstance(drift, RecordedDrift)
            else "computed by the gate (no report for this window)",
            "training_data_quality": evidence.data_quality,
        }
    )


def _window_drift(client, version, feast: FeastStore, model_monitoring: ModelMonitoring):
    """The drift report's verdict on the serving window for ``version``: the drift report
    of this run has judged this window already; only a gate run on its own (or on newer
    features) computes the drift itself."""
    from features.vectors import analyst_serving_rows
    from features.windows import window_end
    from monitoring.drift_records import latest_window_drift, recorded_drift

    sessions = model_monitoring.serving_window_sessions
    features = analyst_serving_rows(feast.exports, sessions)
    end = window_end(features)
    return recorded_drift(client, version.version, end) or latest_window_drift(
        client, version, features, _labels(feast), sessions=sessions,
        thresholds=model_monitoring.thresholds(),
    ).summary  # fmt: skip


def _bootstrap(context, feast, model_monitoring, workflow, version: str) -> dg.MaterializeResult:
    """No champion yet: the challenger must pass the bootstrap gate (its own out-of-sample
    rank IC, drift, data checks: ``monitoring.bootstrap_gate``) or the desk has no analyst
    to trade with, and says so."""
    from agents.market_analyst.registration import load_analyst_version
    from monitoring.bootstrap_gate import (
        BootstrapPolicy,
        bootstrap_evidence,
        bootstrap_reason,
        evaluate_bootstrap,
    )

    client = model_monitoring.client()
    challenger = load_analyst_version(client, version)
    drift = _window_drift(client, challenger, feast, model_monitoring)
    policy = BootstrapPolicy(model_monitoring.min_window_days, 0.05,
                             model_monitoring.max_drifted_share)  # fmt: skip
    decision = evaluate_bootstrap(bootstrap_evidence(challenger, drift, _labels(feast)), policy)
    reason = bootstrap_reason(decision)
    act, outcome = workflow.apply_bootstrap(
        AGENT, version, decision.promote, reason, decision.record(),
        enforce=model_monitoring.bootstrap_gate,
    )  # fmt: skip
    context.log.info(f"bootstrap gate: {act.act}: {act.reason}")
    evidence = decision.evidence
    return dg.MaterializeResult(
        metadata={
            "decision": outcome,
            "reasons": _reasons(decision.reasons),
            "challenger": version,
            "champion_before": None,
            "champion_after": act.champion_after,
            "challenger_rank_ic": evidence.oos_rank_ic,
            "oos_rank_ic_p_value": evidence.p_value,
            "common_window": evidence.window or "none",
            "common_window_days": evidence.oos_days,
            "drifted_feature_share": evidence.drifted_share,
            "training_data_quality": evidence.data_quality,
        }
    )
