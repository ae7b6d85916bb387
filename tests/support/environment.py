"""A child process's environment without the caller's Quorum or Dagster variables."""

import os

INHERITED_PREFIXES = ("QUORUM_", "DAGSTER_")


def environ_without_settings(**given: str) -> dict[str, str]:
    """This process's environment with no QUORUM_ or DAGSTER_ variable, plus ``given``: a
    child's settings are then only what its test gives it, never the developer's own."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_PREFIXES)}
    return inherited | given
