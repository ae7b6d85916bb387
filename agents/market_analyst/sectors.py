"""Which sectors get their own analyst model, and how they are named in the registry.
Light (no model library), so the code location can read it when it loads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# A day's rank IC over two names is only a sign (+1 or -1): a sector needs at least three.
MIN_SECTOR_SYMBOLS = 3


class SectorModelError(ValueError):
    """A sector that cannot be trained, with the reason."""


def sector_slug(sector: str) -> str:
    """The sector's name as a registry name part: 'Health Care' -> 'health-care'."""
    return re.sub(r"[^a-z0-9]+", "-", sector.lower()).strip("-")


def trainable_sectors(
    sectors: Mapping[str, str], min_symbols: int = MIN_SECTOR_SYMBOLS
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(sectors with at least ``min_symbols`` names, the others), each sector -> its names."""
    by_sector: dict[str, list[str]] = {}
    for symbol, sector in sorted(sectors.items()):
        by_sector.setdefault(sector, []).append(symbol)
    slugs: dict[str, list[str]] = {}
    for sector in by_sector:
        slugs.setdefault(sector_slug(sector), []).append(sector)
    clashes = [names for names in slugs.values() if len(names) > 1 or not sector_slug(names[0])]
    if clashes:
        raise SectorModelError(
            f"sector names that cannot name a model apart (same letters and digits, or none): "
            f"{clashes}; rename them in the sector map"
        )
    kept = {s: names for s, names in by_sector.items() if len(names) >= min_symbols}
    return kept, {s: names for s, names in by_sector.items() if s not in kept}


def latest_sectors(daily_features: pd.DataFrame) -> dict[str, str]:
    """Each symbol's sector on its latest day (``symbol``, ``sector``, ``event_timestamp``)."""
    latest = daily_features.sort_values("event_timestamp").groupby("symbol").tail(1)
    return dict(zip(latest["symbol"], latest["sector"], strict=True))
