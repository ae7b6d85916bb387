"""Market data for decision cycles: the ``MarketDataFeed`` interface and its replay.

The shipped data are daily, so the replay steps through historical NYSE sessions and, inside
each, through half-hour bars SYNTHESIZED by a Brownian bridge through the day's real
open/high/low/close (or from the previous close to the close where a source has closes only).
Everything a decision may see at time t is at or before t: the daily history stops at the
previous session, and the bar at t is only revealed to the broker that fills against it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Protocol

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal

from agents.desk.steps import last_present
from agents.execution.impact import DEFAULT_ADV_USD
from agents.execution.schedules import NYSE_HALF_HOUR_VOLUME_PROFILE

BAR_MINUTES = 30
SUB_BUCKETS = 6  # the broker's five-minute slices of a bar
BAR_DAYS = BAR_MINUTES / 390  # a bar's share of a full session (6.5 hours): an order's time


@dataclass(frozen=True)
class Bar:
    """One half-hour bar for every symbol of the universe (arrays in universe order)."""

    start: datetime
    end: datetime
    open: np.ndarray
    close: np.ndarray
    bucket_prices: np.ndarray  # (symbols, SUB_BUCKETS) mean price of each five-minute slice
    bucket_volumes: np.ndarray  # (symbols, SUB_BUCKETS) shares
    synthesized: bool
    volume_assumed: bool  # no volume in the source: ADV of DEFAULT_ADV_USD at the price


class MarketDataFeed(Protocol):
    symbols: list[str]

    def cycle_times(self, day: date) -> list[datetime]:
        """The decision times of a session: the start of each of its half-hour bars."""

    def history(self, day: date, field: str = "close") -> pd.DataFrame:
        """A daily field (wide: date x symbol) of the sessions strictly before ``day``."""

    def session_of(self, at: datetime) -> date:
        """The session a decision time belongs to."""

    def bar(self, at: datetime) -> Bar:
        """The half-hour bar starting at ``at``."""

    def next_cycle_time(self, after: datetime | None) -> datetime | None:
        """The first decision time after ``after`` (the first of the feed when None)."""

    # Optional: ``ready(day)``, called before the session's open, readies what the feed
    # serves during it (the replay synthesizes the day's bars), so the open cycle does not.


def _seed(symbol: str, day: date) -> int:
    return int.from_bytes(hashlib.sha256(f"{symbol}|{day}".encode()).digest()[:8], "little")


def brownian_bridge(
    open_: float,
    close: float,
    high: float | None,
    low: float | None,
    minutes: int,
    daily_volatility: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Minute prices (``minutes`` + 1 points, first = open, last = close). With a high and a
    low, the bridge's excursions above and below the open-close line are scaled to touch
    them exactly and the path is clipped to [low, high]; without, it is a plain bridge with
    the given daily volatility."""
    steps = rng.normal(0.0, daily_volatility / np.sqrt(minutes), size=minutes)
    walk = np.concatenate([[0.0], np.cumsum(steps)])
    t = np.linspace(0.0, 1.0, minutes + 1)
    excursion = walk - t * walk[-1]  # zero at both ends
    line = np.log(open_) + t * (np.log(close) - np.log(open_))
    path = line + excursion
    if high is not None and low is not None and np.isfinite([high, low]).all():
        up, down = np.argmax(excursion), np.argmin(excursion)
        scale_up = (np.log(high) - line[up]) / excursion[up] if excursion[up] > 0 else 0.0
        scale_down = (np.log(low) - line[down]) / excursion[down] if excursion[down] < 0 else 0.0
        scaled = np.where(
            excursion > 0, excursion * max(scale_up, 0.0), excursion * max(scale_down, 0.0)
        )
        path = np.clip(line + scaled, np.log(low), np.log(high))
    return np.exp(path)


class ReplayFeed:
    """Replays sessions of a long price frame (date, symbol, open, high, low, close, volume)."""

    def __init__(
        self, prices: pd.DataFrame, start: date | str | None = None, end: date | str | None = None
    ) -> None:
        frame = prices.assign(date=pd.to_datetime(prices["date"]).dt.normalize())
        self._daily = {
            column: frame.pivot(index="date", columns="symbol", values=column).sort_index()
            for column in ("open", "high", "low", "close", "volume")
        }
        self.symbols = list(self._daily["close"].columns)
        dates = list(self._daily["close"].index)
        calendar = mcal.get_calendar("XNYS")
        schedule = calendar.schedule(dates[1], dates[-1])
        schedule = schedule[schedule.index.date >= pd.Timestamp(start or dates[1]).date()]
        schedule = schedule[schedule.index.date <= pd.Timestamp(end or dates[-1]).date()]
        # A session the data lack (or a data day the exchange was shut) is not replayed.
        self._sessions = {
            d.date(): (row.market_open.to_pydatetime(), row.market_close.to_pydatetime())
            for d, row in schedule.iterrows()
            if d in self._daily["close"].index
        }
        if not self._sessions:
            raise ValueError(f"no NYSE session with prices between {start} and {end}")

    @property
    def sessions(self) -> list[date]:
        return list(self._sessions)

    def cycle_times(self, day: date) -> list[datetime]:
        opens, closes = self._sessions[day]
        count = int((closes - opens) / timedelta(minutes=BAR_MINUTES))
        return [opens + i * timedelta(minutes=BAR_MINUTES) for i in range(count)]

    def history(self, day: date, field: str = "close") -> pd.DataFrame:
        frame = self._daily[field]
        return frame.iloc[: frame.index.searchsorted(pd.Timestamp(day))]

    def next_cycle_time(self, after: datetime | None) -> datetime | None:
        for day in self._sessions:
            if after is not None and self._sessions[day][1] <= after:
                continue
            for at in self.cycle_times(day):
                if after is None or at > after:
                    return at
        return None

    def session_of(self, at: datetime) -> date:
        for day, (opens, closes) in self._sessions.items():
            if opens <= at < closes:
                return day
        raise ValueError(f"{at.isoformat()} is not inside a replayed NYSE session")

    def ready(self, day: date) -> None:
        """Before the open: the day's minute paths, which every bar of the session reads
        (about 0.15 s at 500 names: the market's simulation, not the desk's decision)."""
        self._day_paths(day)

    def bar(self, at: datetime) -> Bar:
        day = self.session_of(at)
        paths, volumes, volume_assumed = self._day_paths(day)
        index = self.cycle_times(day).index(at)
        minutes = slice(index * BAR_MINUTES, (index + 1) * BAR_MINUTES + 1)
        window = paths[:, minutes]
        buckets = window[:, 1:].reshape(len(self.symbols), SUB_BUCKETS, -1).mean(axis=2)
        bucket_volume = np.repeat(volumes[:, index : index + 1] / SUB_BUCKETS, SUB_BUCKETS, axis=1)
        return Bar(
            start=at,
            end=at + timedelta(minutes=BAR_MINUTES),
            open=window[:, 0],
            close=window[:, -1],
            bucket_prices=buckets,
            bucket_volumes=bucket_volume,
            synthesized=True,
            volume_assumed=volume_assumed,
        )

    @lru_cache(maxsize=4)  # noqa: B019 - a feed lives as long as its replay; days are few
    def _day_paths(self, day: date) -> tuple[np.ndarray, np.ndarray, bool]:
        """Minute paths (symbols, minutes + 1) and half-hour volumes (symbols, bars)."""
        bars = len(self.cycle_times(day))
        minutes = bars * BAR_MINUTES
        previous = self.history(day)
        volatility = previous.pct_change().tail(63).std().fillna(0.02)
        row = {column: frame.loc[pd.Timestamp(day)] for column, frame in self._daily.items()}
        last_close = last_present(previous) if len(previous) else row["close"] * np.nan
        paths = np.empty((len(self.symbols), minutes + 1))
        for i, symbol in enumerate(self.symbols):
            close = row["close"][symbol]
            open_ = row["open"][symbol]
            if not np.isfinite(open_):  # no open: the last close before the day, else the close
                open_ = last_close[symbol] if np.isfinite(last_close[symbol]) else close
            paths[i] = brownian_bridge(
                float(open_),
                float(close),
                _finite(row["high"][symbol]),
                _finite(row["low"][symbol]),
                minutes,
                float(volatility.get(symbol, 0.02)),
                np.random.default_rng(_seed(symbol, day)),
            )
        profile = NYSE_HALF_HOUR_VOLUME_PROFILE[:bars] / NYSE_HALF_HOUR_VOLUME_PROFILE[:bars].sum()
        daily_volume = row["volume"].to_numpy(dtype=float)
        assumed = ~np.isfinite(daily_volume) | (daily_volume <= 0)
        daily_volume = np.where(assumed, DEFAULT_ADV_USD / row["close"].to_numpy(), daily_volume)
        return paths, np.outer(daily_volume, profile), bool(assumed.any())


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
