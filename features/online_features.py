"""What one read of the online features gives the desk, whether Feast's online store served it
(``features.store``) or the exports' history did (``features.history``).

No Feast import: a backtest replays history without loading Feast (about 10 s of imports in
every process that would, the training worker's included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class OnlineFeatures:
    values: np.ndarray  # (symbols, features) float64, NaN where missing or stale
    symbols: list[str]
    features: list[str]
    newest_timestamp: datetime | None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.values, index=self.symbols, columns=self.features)
