"""The Market Analyst's sequence models: an LSTM, a Transformer encoder and a 1-D CNN over
each symbol's window of the last SEQUENCE_DAYS closes (features/sequences.py).

One scikit-learn estimator, ``SequenceRegressor``, trains any of the three networks
(``architecture``) on the same label as LightGBM. Deterministic: a seed and a thread count
are set for every fit and predict, so two trainings on the same data give the same
predictions. PyTorch is imported here only, so importing the analyst's other modules stays
cheap.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from torch import nn

from features.names import SEQUENCE_DAYS, SEQUENCE_FEATURES
from features.sequences import as_windows

ARCHITECTURES = ("lstm", "transformer", "cnn")


class _LSTM(nn.Module):
    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            n_features, hidden, num_layers=layers, batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )  # fmt: skip
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1]).squeeze(-1)


class _Transformer(nn.Module):
    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Linear(n_features, hidden)
        self.position = nn.Parameter(torch.zeros(1, SEQUENCE_DAYS, hidden))
        layer = nn.TransformerEncoderLayer(
            hidden, nhead=4, dim_feedforward=2 * hidden, dropout=dropout, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        encoded = self.encoder(self.embed(x) + self.position[:, : x.shape[1]])
        return self.head(encoded[:, -1]).squeeze(-1)


class _CNN(nn.Module):
    """Causal-looking dilated convolutions over time (chart patterns over 3, 7 and 15 days),
    then the average over the window."""

    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        blocks, width = [], n_features
        for level in range(max(layers, 1) + 1):
            blocks += [
                nn.Conv1d(width, hidden, kernel_size=3, dilation=2**level, padding=2**level),
                nn.ReLU(),
                nn.Dropout(dropout),
            ]
            width = hidden
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.body(x.transpose(1, 2))  # (batch, channels, time)
        return self.head(features.mean(dim=-1)).squeeze(-1)


_NETWORKS = {"lstm": _LSTM, "transformer": _Transformer, "cnn": _CNN}


@contextmanager
def _threads(n: int | None):
    if n is None:  # PyTorch's own default: the cores, or OMP_NUM_THREADS
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _scale_of(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and deviation over every row and day; a feature missing throughout
    (volume on a file of closes only) gets 0 and 1, so it enters as a constant 0."""
    flat = windows.reshape(-1, windows.shape[-1])
    present = ~np.isnan(flat)
    count = present.sum(axis=0)
    filled = np.where(present, flat, 0.0)
    mean = np.divide(filled.sum(axis=0), count, out=np.zeros(flat.shape[1]), where=count > 0)
    square = np.where(present, (flat - mean) ** 2, 0.0).sum(axis=0)
    std = np.sqrt(np.divide(square, count, out=np.ones(flat.shape[1]), where=count > 0))
    return mean.astype(np.float32), (np.where(std > 0, std, 1.0) + 1e-6).astype(np.float32)


class SequenceRegressor(RegressorMixin, BaseEstimator):
    """A network over feature windows forecasting forward excess return, per row.

    Parameters
    ----------
    architecture : "lstm", "transformer" or "cnn".
    hidden_size, num_layers, dropout : the network's width, depth and dropout.
    epochs, batch_size, learning_rate, weight_decay : AdamW training on the Huber loss of the
        standardised label (daily return labels are heavy-tailed; squared error chases them).
    max_train_rows : train on at most this many of the most recent rows (None: all).
    random_state : seeds the weights and the batch order.
    n_threads : PyTorch's intra-op threads during fit and predict (None: PyTorch's default,
        the machine's cores unless OMP_NUM_THREADS says otherwise).
    """

    def __init__(
        self,
        architecture: str = "lstm",
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.1,
        epochs: int = 3,
        batch_size: int = 512,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        max_train_rows: int | None = None,
        random_state: int = 0,
        n_threads: int | None = None,
    ) -> None:
        self.architecture = architecture
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.max_train_rows = max_train_rows
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(self, X: pd.DataFrame, y: pd.Series) -> SequenceRegressor:
        if self.architecture not in _NETWORKS:
            raise ValueError(f"architecture {self.architecture!r} is not one of {ARCHITECTURES}")
        windows, target = as_windows(X), np.asarray(y, dtype=np.float32)
        if self.max_train_rows is not None and len(target) > self.max_train_rows:
            windows, target = windows[-self.max_train_rows :], target[-self.max_train_rows :]
        # per-feature scale over every day of the window; missing values become the mean (0)
        self.feature_mean_, self.feature_std_ = _scale_of(windows)
        self.target_scale_ = float(np.std(target)) or 1.0
        inputs = torch.from_numpy(self._standardised(windows))
        labels = torch.from_numpy(target / self.target_scale_)
        with _threads(self.n_threads):
            torch.manual_seed(self.random_state)
            network = _NETWORKS[self.architecture](
                len(SEQUENCE_FEATURES), self.hidden_size, self.num_layers, self.dropout
            )
            optimiser = torch.optim.AdamW(
                network.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
            loss_of = nn.HuberLoss(delta=1.0)
            order = torch.Generator().manual_seed(self.random_state)
            network.train()
            self.loss_by_epoch_ = []
            for _ in range(self.epochs):
                total = 0.0
                for batch in torch.randperm(len(labels), generator=order).split(self.batch_size):
                    optimiser.zero_grad()
                    loss = loss_of(network(inputs[batch]), labels[batch])
                    loss.backward()
                    optimiser.step()
                    total += loss.item() * len(batch)
                self.loss_by_epoch_.append(total / len(labels))
            network.eval()
        self.network_ = network
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Expected forward excess return, per row."""
        inputs = torch.from_numpy(self._standardised(as_windows(X)))
        with _threads(self.n_threads), torch.inference_mode():
            scaled = (
                torch.cat([self.network_(b) for b in inputs.split(8192)])
                if len(inputs)
                else (torch.zeros(0))
            )
        return scaled.numpy().astype(float) * self.target_scale_

    def _standardised(self, windows: np.ndarray) -> np.ndarray:
        scaled = (windows - self.feature_mean_) / self.feature_std_
        return np.nan_to_num(np.clip(scaled, -5, 5), nan=0.0).astype(np.float32)
