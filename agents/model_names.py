"""How models are named in the registry: ``quorum-<agent>`` with the aliases ``challenger``
and ``champion``. No MLflow import, so code that only names a model stays light."""

CHALLENGER, CHAMPION = "challenger", "champion"
# A version tag set at training: "passed" | "failed" | "not_evaluated" (its data's checks).
DATA_QUALITY_TAG = "data_quality"


def model_name(agent: str) -> str:
    return f"quorum-{agent}"
