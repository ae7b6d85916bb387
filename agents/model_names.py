"""How models are named in the registry: ``quorum-<agent>`` with the aliases ``challenger``
and ``champion``. No MLflow import, so code that only names a model stays light."""

CHALLENGER, CHAMPION = "challenger", "champion"
# A newer version waiting while the challenger in shadow collects its live evidence.
QUEUED = "queued"
# The agents whose challenger runs in shadow until a live gate judges it.
LIVE_GATED = ("market_analyst", "risk_manager", "portfolio_optimizer", "execution")
# The daily batch's verdict on an analyst version: passed | not_comparable | refused.
OFFLINE_GATE_TAG = "offline_gate"
# promoted | refused: a live gate judged the version on enough evidence (or it was rejected).
LIVE_VERDICT_TAG = "live_verdict"
QUEUED_BEHIND_TAG = "queued_behind"
# A version tag set at training: "passed" | "failed" | "not_evaluated" (its data's checks).
DATA_QUALITY_TAG = "data_quality"


def model_name(agent: str) -> str:
    return f"quorum-{agent}"


def awaits_live_verdict(tags: dict[str, str]) -> bool:
    """Whether a challenger beside a champion is still collecting live evidence: no live
    verdict yet, and not refused by the offline gate (such a version is never promoted)."""
    return LIVE_VERDICT_TAG not in tags and tags.get(OFFLINE_GATE_TAG) != "refused"
