"""Logging the analyst ensemble's members to MLflow as nested runs of the ensemble's run:
LightGBM with MLflow's LightGBM flavour, the sequence models with its PyTorch flavour, each
with its parameters, per-fold out-of-sample metrics, signature and input example."""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from agents.market_analyst.ensemble import SignalEnsemble
from agents.market_analyst.signal_model import SignalModel
from features.names import ANALYST_FEATURES


def log_members(
    ensemble: SignalEnsemble, member_folds: pd.DataFrame, example: pd.DataFrame
) -> dict[str, str]:
    """One nested run per member (call inside the ensemble's run); returns run ids."""
    runs = {}
    for name, member in ensemble.members.items():
        folds = member_folds[member_folds["member"] == name]
        with mlflow.start_run(run_name=f"market_analyst-{name}", nested=True) as run:
            mlflow.log_params({"member": name, **member.get_params()})
            mlflow.log_param("ensemble_weight", ensemble.weights[name])
            for row in folds.itertuples():
                mlflow.log_metrics(
                    {
                        "oos_rank_ic": float(row.rank_ic),
                        "oos_hit_rate": float(row.hit_rate),
                        "oos_long_short_sharpe": float(row.long_short_sharpe),
                    },
                    step=int(row.fold),
                )
            mlflow.log_metric("oos_mean_rank_ic", float(folds["rank_ic"].mean()))
            _log_model(member, example)
        runs[name] = run.info.run_id
    return runs


def _log_model(member, example: pd.DataFrame) -> None:
    if isinstance(member, SignalModel):
        import mlflow.lightgbm

        inputs = example[ANALYST_FEATURES]
        mlflow.lightgbm.log_model(
            member.booster_,
            name="model",
            # the flavour's own pins: inferring them imports the model in a subprocess (~10 s)
            pip_requirements=mlflow.lightgbm.get_default_pip_requirements(),
            signature=infer_signature(inputs, member.predict(inputs)),
            input_example=inputs,
        )
        return
    import mlflow.pytorch

    from features.sequences import as_windows

    # the network's own input: standardised windows (rows, days, features), float32
    windows = member._standardised(as_windows(example))
    mlflow.pytorch.log_model(
        member.network_,
        name="model",
        pip_requirements=mlflow.pytorch.get_default_pip_requirements(),
        signature=infer_signature(windows, member.predict(example).astype("float32")),
        input_example=windows,
    )
