"""The recorded data-quality checks a model's training data went through, from the instance."""

import dagster as dg

from monitoring.data_quality import RecordedCheck, training_data_verdict


def recorded_checks(context: dg.AssetExecutionContext) -> list[RecordedCheck]:
    """The latest evaluation of every asset check on an asset upstream of this one (the GE
    suite on raw_prices, the dbt tests): what the data that training just read went
    through. Checks elsewhere in the graph (the desk's alerts) are not about this data."""
    graph = context.job_def.asset_layer.asset_graph
    upstream = graph.get_ancestor_asset_keys(context.asset_key)
    keys = [key for key in graph.asset_check_keys if key.asset_key in upstream]
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    checks = []
    for key, record in latest.items():
        evaluation = record.event.asset_check_evaluation if record.event else None
        if evaluation is None:  # planned, never evaluated
            continue
        checks.append(
            RecordedCheck(
                name=key.to_user_string(),
                passed=evaluation.passed,
                severity=evaluation.severity.value,
            )
        )
    return checks


def training_data_quality(context: dg.AssetExecutionContext) -> tuple[str, list[str]]:
    return training_data_verdict(recorded_checks(context))
