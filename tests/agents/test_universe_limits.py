"""Position and sector caps that scale with the universe."""

import numpy as np
import pytest

from agents.universe_limits import position_cap, sector_caps


@pytest.mark.parametrize(("names", "cap"), [(5, 0.4), (20, 0.1), (100, 0.05), (500, 0.05)])
def test_a_name_may_hold_twice_its_equal_share_never_less_than_the_floor(names, cap):
    assert position_cap(names, floor=0.05) == pytest.approx(cap)


def test_equal_weight_is_always_feasible_for_any_universe():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 600))
        names = [f"S{i}" for i in range(n)]
        sectors = {s: f"G{rng.integers(0, rng.integers(1, 12))}" for s in names}
        caps = sector_caps(names, sectors, floor=0.15)
        assert 1 / n <= position_cap(n, floor=0.05) + 1e-12
        counts = {g: list(sectors.values()).count(g) for g in caps}
        assert all(counts[g] / n <= caps[g] + 1e-12 for g in caps)


def test_a_sector_may_hold_one_and_a_half_equal_shares_and_unknown_sectors_share_one():
    names = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]
    sectors = {"A": "Tech", "B": "Tech", "C": "Tech", "D": "Tech"}  # six without a sector
    caps = sector_caps(names, sectors, floor=0.15)
    assert caps["Tech"] == pytest.approx(0.6) and caps["Unknown"] == pytest.approx(0.9)
