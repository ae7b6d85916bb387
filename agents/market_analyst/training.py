"""Training the Market Analyst walk-forward, with out-of-sample scores per fold.

Every member (LightGBM, and the sequence models when asked for) is trained on the same
purged and embargoed folds and scored on the same test blocks; the ensemble's forecast on a
block weights the members by their rank IC on the blocks before it, so its out-of-sample
score uses no weight chosen on the block it is scored on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from agents.market_analyst.ensemble import SignalEnsemble, weights_from_member_folds
from agents.market_analyst.evaluation import forecast_metrics
from agents.market_analyst.names import LIGHTGBM, SEQUENCE_MEMBERS
from agents.market_analyst.regime import RegimeModel
from agents.market_analyst.signal_model import SignalModel
from agents.market_analyst.walk_forward import PurgedWalkForward
from features.names import ANALYST_FEATURES, ANALYST_INPUTS
from features.sequences import with_sequence_windows
from features.windows import session_dates


def new_member(name: str, params: dict):
    """An unfitted member: ``lightgbm`` or one of the sequence architectures."""
    if name == LIGHTGBM:
        return SignalModel(**params)
    if name in SEQUENCE_MEMBERS:
        # PyTorch loads only when a sequence member is asked for.
        from agents.market_analyst.sequence_models import SequenceRegressor

        return SequenceRegressor(architecture=name, **params)
    raise ValueError(f"unknown analyst member {name!r}: use {LIGHTGBM} or {SEQUENCE_MEMBERS}")


def _inputs_of(name: str, X: pd.DataFrame) -> pd.DataFrame:
    """LightGBM reads the features; the sequence models read the windows."""
    return X[ANALYST_FEATURES] if name == LIGHTGBM else X


def reads_windows(members: Iterable[str]) -> bool:
    """Whether a sequence member is among ``members``: only they read the windows, and
    building them is a third of a LightGBM-only retraining in the backtest."""
    return any(m in SEQUENCE_MEMBERS for m in members)


def member_inputs(members: Iterable[str]) -> list[str]:
    """The columns ``members`` read."""
    return ANALYST_INPUTS if reads_windows(members) else ANALYST_FEATURES


def labelled_rows(training_set: pd.DataFrame, label: str, windows: bool = True) -> pd.DataFrame:
    """Rows with a ``label``, their ``date`` and (``windows``) their windows, in date order."""
    # windows before the label filter: a window looks back over rows whatever their label
    data = (with_sequence_windows(training_set) if windows else training_set).dropna(subset=[label])
    data["date"] = session_dates(data["event_timestamp"])
    return data.sort_values(["date", "symbol"], ignore_index=True)


def matured_rows(data: pd.DataFrame, end: str, horizon_days: int) -> pd.DataFrame:
    """``labelled_rows`` up to ``end`` whose labels are made of prices up to ``end`` too: a
    label of the last ``horizon_days`` sessions looks past it, so those rows go as well."""
    data = data[data["date"] <= pd.Timestamp(end)]
    sessions = sorted(data["date"].unique())
    if not sessions:
        raise ValueError(f"no labelled rows on or before {end}")
    matured = sessions[-horizon_days - 1] if len(sessions) > horizon_days else sessions[0]
    return data[data["date"] <= matured].reset_index(drop=True)


def label_splitter(
    data: pd.DataFrame, n_splits: int, min_train_days: int, horizon_days: int
) -> PurgedWalkForward:
    """Walk-forward folds purged and embargoed by the label's horizon. A short history (a
    user's file of two years) still trains: the first window shrinks to half the history,
    and the splitter's ``min_train_days`` is the window it used."""
    return PurgedWalkForward(
        n_splits=n_splits,
        min_train_days=min(min_train_days, data["date"].nunique() // 2),
        purge_days=horizon_days,
        embargo_days=horizon_days,
    )


def scoring_frame(test: pd.DataFrame, label: str, fold: int) -> pd.DataFrame:
    """A fold's test rows as the forecasts are scored: date, symbol, realized label and
    1-day return, fold; each model adds its ``prediction_<name>`` column."""
    return pd.DataFrame(
        {
            "date": test["date"].to_numpy(),
            "symbol": test["symbol"].to_numpy(),
            "realized": test[label].to_numpy(),
            "realized_1d": test["forward_excess_return_1d"].to_numpy(),
            "fold": fold,
        }
    )


def walk_forward(
    data: pd.DataFrame,
    label: str,
    members: dict[str, dict],
    splitter: PurgedWalkForward,
    recent_folds: dict[str, int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Out-of-sample forecasts of every member and of the ensemble, fold by fold, and their
    metrics against ``label``: (out_of_sample, ensemble folds, member folds). ``data``:
    labelled rows with ``date`` and the columns the members read, sorted by date.
    ``recent_folds[member] = k``: that member is trained
    and scored on the last k folds only (a daily run's budget); before, it has no forecast
    and no weight."""
    recent_folds = recent_folds or {}
    X, y = data[member_inputs(members)], data[label]
    oos, rows, member_rows = [], [], []
    for fold in splitter.split(data["date"]):
        train_X, train_y = X.iloc[fold.train_index], y.iloc[fold.train_index]
        test = data.iloc[fold.test_index]
        scored = scoring_frame(test, label, fold.number)
        period = {
            "fold": fold.number,
            "train_rows": len(fold.train_index),
            "test_start": fold.test_start,
            "test_end": fold.test_end,
        }
        # the ensemble's weights on this block: members' rank IC on the earlier blocks only
        present = [
            name
            for name in members
            if fold.number >= splitter.n_splits - recent_folds.get(name, splitter.n_splits)
        ]
        earlier = pd.DataFrame(member_rows, columns=["member", "rank_ic"])
        weights = weights_from_member_folds(earlier, present)
        for name in present:
            model = new_member(name, members[name]).fit(_inputs_of(name, train_X), train_y)
            scored[f"prediction_{name}"] = model.predict(X.iloc[fold.test_index])
            metrics = forecast_metrics(scored, prediction=f"prediction_{name}")
            member_rows.append({"member": name, **period, **metrics})
        scored["prediction"] = sum(w * scored[f"prediction_{m}"] for m, w in weights.items())
        oos.append(scored)
        rows.append(
            {
                **period,
                **forecast_metrics(scored),
                **{f"weight_{m}": weights.get(m, 0.0) for m in members},
            }
        )
    return pd.concat(oos, ignore_index=True), pd.DataFrame(rows), pd.DataFrame(member_rows)


@dataclass(frozen=True)
class AnalystTraining:
    model: SignalEnsemble  # members fitted on every labelled row; calibrated out of sample
    regime: RegimeModel
    folds: pd.DataFrame  # the ensemble's out-of-sample metrics, one row per fold
    member_folds: pd.DataFrame  # every member's out-of-sample metrics per fold
    out_of_sample: pd.DataFrame  # date, symbol, prediction, each member's, realized, fold
    member_params: dict[str, dict]
    label: str
    min_train_days: int
    first_date: pd.Timestamp
    last_date: pd.Timestamp

    @property
    def latest_fold(self) -> dict:
        return self.folds.iloc[-1].to_dict()


def train_market_analyst(
    training_set: pd.DataFrame,
    market_returns: pd.Series,
    *,
    horizon_days: int = 5,
    n_splits: int = 5,
    min_train_days: int = 1260,
    model_params: dict | None = None,
    members: dict[str, dict] | None = None,
    recent_folds: dict[str, int] | None = None,
) -> AnalystTraining:
    """Walk-forward: each fold trains on the past (purged and embargoed by the label horizon)
    and is scored on the next block only. The deployed members are then fitted on all rows.

    ``members``: name -> parameters (``lightgbm``, ``lstm``, ``transformer``, ``cnn``);
    None trains LightGBM alone with ``model_params``. ``recent_folds``: see ``walk_forward``."""
    members = members or {LIGHTGBM: dict(model_params or {})}
    label = f"forward_excess_return_{horizon_days}d"
    data = labelled_rows(training_set, label, windows=reads_windows(members))
    splitter = label_splitter(data, n_splits, min_train_days, horizon_days)
    out_of_sample, folds, member_folds = walk_forward(
        data, label, members, splitter, recent_folds=recent_folds
    )
    deployed_weights = weights_from_member_folds(member_folds, list(members))
    X, y = data[member_inputs(members)], data[label]
    final = SignalEnsemble(
        {name: new_member(name, p).fit(_inputs_of(name, X), y) for name, p in members.items()},
        deployed_weights,
    )
    final.calibrate(out_of_sample["prediction"].to_numpy(), out_of_sample["realized"].to_numpy())
    training_days = market_returns[market_returns.index <= data["date"].max()]
    return AnalystTraining(
        model=final,
        regime=RegimeModel().fit(training_days),
        folds=folds,
        member_folds=member_folds,
        out_of_sample=out_of_sample,
        member_params={name: dict(params) for name, params in members.items()},
        label=label,
        min_train_days=splitter.min_train_days,
        first_date=data["date"].min(),
        last_date=data["date"].max(),
    )
