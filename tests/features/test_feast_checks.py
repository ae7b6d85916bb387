"""Feast's run-time type checks: kept where Quorum is developed, skipped where it is deployed
(features/feast_checks.py). Each case is a fresh interpreter, as each Dagster run is."""

import json
import subprocess
import sys

from features.settings import REPO_ROOT

# A wrong argument type to a Feast constructor: typeguard raises when the checks are on.
_PROBE = """
import json, sys
{before}
from feast import Field
from feast.types import Float32
from features.feast_checks import feast_type_checks_active
try:
    Field(name=1, dtype=Float32)
    raised = None
except Exception as error:
    raised = type(error).__name__
print(json.dumps({{"raised": raised, "active": feast_type_checks_active(), **result}}))
"""


def _run(before: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(before=before)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_feast_checks_its_arguments_unless_told_to_skip_the_checks():
    checked = _run("result = {}")
    assert checked == {"raised": "TypeCheckError", "active": True}

    skipped = _run(
        "from features.feast_checks import skip_feast_type_checks\n"
        "result = {'took_effect': skip_feast_type_checks()}"
    )
    assert skipped == {"raised": None, "active": False, "took_effect": True}


def test_skipping_after_feast_was_imported_changes_nothing():
    late = _run(
        "import feast\n"
        "from features.feast_checks import skip_feast_type_checks\n"
        "result = {'took_effect': skip_feast_type_checks()}"
    )
    assert late == {"raised": "TypeCheckError", "active": True, "took_effect": False}


def test_the_entry_points_skip_the_checks_unless_the_settings_keep_them(tmp_path):
    """``orchestration.instance.prepare`` runs first in every Quorum and Dagster process."""
    for keep, active in (("false", False), ("true", True)):
        prepared = _run(
            "import os\n"
            f"os.environ.update(QUORUM_HOME={str(tmp_path / keep)!r}, "
            f"QUORUM_FEAST_TYPE_CHECKS={keep!r}, QUORUM_PROFILE='embedded')\n"
            "from features.settings import current_settings\n"
            "from orchestration import instance\n"
            "instance.prepare(current_settings())\n"
            "result = {}"
        )
        assert prepared["active"] is active, keep
