"""Position and sector limits that scale with the universe, shared by the Portfolio Optimizer
(its constraints) and the Risk Manager (its veto), so the two can never disagree.

The design's 5% per name and 15% per sector are floors, not fixed caps: with 20 names a 5%
cap admits only equal weight, and with 5 ETFs it admits 25% invested. A name may hold twice
its equal share (10% of 20 names, 40% of 5, the 5% floor at 500), and a sector one and a
half times its equal-weight share, never less than the floors. Equal weight is then always
feasible, a view can double a name, and a sector cannot be filled by doubling all of its
names (which a multiple of 2 would allow).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

UNKNOWN_SECTOR = "Unknown"
POSITION_MULTIPLE = 2.0
SECTOR_MULTIPLE = 1.5


def position_cap(n_assets: int, floor: float, multiple: float = POSITION_MULTIPLE) -> float:
    """The largest weight one name may hold in a universe of ``n_assets``."""
    if n_assets < 1:
        raise ValueError("a universe needs at least one asset")
    return min(1.0, max(floor, multiple / n_assets))


def sector_caps(
    assets: Iterable[str],
    sectors: Mapping[str, str],
    floor: float,
    multiple: float = SECTOR_MULTIPLE,
) -> dict[str, float]:
    """Per sector, the largest total weight it may hold: ``multiple`` times its share of the
    universe's names, at least ``floor`` and at least one name's cap (a sector of one name
    is that name), at most 1. Names without a sector share one."""
    names = list(assets)
    counts = Counter(sectors.get(a, UNKNOWN_SECTOR) for a in names)
    one_name = position_cap(len(names), 0.0)
    return {
        sector: min(1.0, max(floor, one_name, multiple * count / len(names)))
        for sector, count in counts.items()
    }
