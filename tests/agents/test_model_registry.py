"""Loading a registered model: its pinned requirements checked against this environment."""

import logging

import pandas as pd
import pytest

from agents import model_registry
from tests.monitoring.test_promotion import Constant


@pytest.fixture
def registry(tmp_path):
    model_registry.configure(
        f"sqlite:///{tmp_path / 'mlflow.db'}", "registry-tests", str(tmp_path / "artifacts")
    )


def register(requirements: list[str]) -> str:
    example = pd.DataFrame({"x": [1.0, 2.0]})
    return model_registry.log_and_register(
        "market_analyst",
        Constant(0.01),
        params={},
        metrics={},
        tags={},
        input_example=example,
        output_example=Constant(0.01).predict(None, example),
        pip_requirements=requirements,
    ).version


def ours(caplog) -> list[logging.LogRecord]:
    """This module's warnings (MLflow's logging of a model warns on its own)."""
    return [r for r in caplog.records if r.name == model_registry.__name__]


def test_a_model_whose_pins_this_environment_meets_loads_without_a_warning(registry, caplog):
    pins = model_registry.installed_requirements(["mlflow", "pandas"])
    version = register(pins)
    with caplog.at_level(logging.WARNING, logger=model_registry.__name__):
        model = model_registry.load_uri(f"models:/quorum-market_analyst/{version}")
    assert model.predict(pd.DataFrame({"x": [3.0]}))["expected_return"].tolist() == [0.01]
    assert not ours(caplog)


def test_loading_warns_naming_each_package_the_environment_lacks_at_its_pinned_version(
    registry, caplog
):
    version = register(["pandas==0.0.1", "no-such-package-quorum==1.0", "mlflow>=1"])
    with caplog.at_level(logging.WARNING, logger=model_registry.__name__):
        model_registry.load_uri(f"models:/quorum-market_analyst/{version}")
    (record,) = ours(caplog)
    installed = model_registry.installed_requirements(["pandas"])[0].split("==")[1]
    assert f"pandas: ==0.0.1, installed {installed}" in record.getMessage()
    assert "no-such-package-quorum: ==1.0, not installed" in record.getMessage()
    assert "mlflow" not in record.getMessage().split(":", 2)[-1]


def test_lines_that_are_not_requirements_are_skipped():
    assert model_registry.requirement_mismatches(["", "# pinned", "-r other.txt"]) == []
