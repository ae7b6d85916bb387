"""Two event payloads compared as decisions: every key, string, integer and list length
exactly, every float to 1e-12 (relative, or absolute near zero).

Why not ``==`` on floats: the same cycle decided in two processes from the same values can
differ in the last bits. On 2026-12-07's machine the distributed test's cycle on the workers
and the embedded run's had every order, fill and share equal and the target's weights, risk
figures and votes apart by at most 8.9e-16 (relative), a few units in the last place; the
operation was not traced. docs/speed.md measured the same kind for two covariance estimates
on copies of one window (OpenBLAS rounds the same product differently at another memory
address). A decision that differs does so far above 1e-12, and an order's shares, a name, a
method or a veto are compared exactly, as is the book they leave.
"""

from __future__ import annotations

import math
from typing import Any

RELATIVE_TOLERANCE = 1e-12
ABSOLUTE_TOLERANCE = 1e-12


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where ``left`` and ``right`` differ beyond rounding, as paths (``weights.AAPL``):
    empty when they are the same decision."""
    if isinstance(left, bool) or isinstance(right, bool):
        return [] if left is right else [f"{path or '.'}: {left!r} != {right!r}"]
    if isinstance(left, float) or isinstance(right, float):
        numbers = all(isinstance(v, int | float) for v in (left, right))
        if numbers and (
            (math.isnan(left) and math.isnan(right))
            or math.isclose(left, right, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
        ):
            return []
        return [f"{path or '.'}: {left!r} != {right!r}"]
    if isinstance(left, dict) and isinstance(right, dict):
        if left.keys() != right.keys():
            missing = sorted(set(left) ^ set(right))
            return [f"{path or '.'}: keys in one only {missing}"]
        return [d for k in left for d in differences(left[k], right[k], f"{path}.{k}".lstrip("."))]
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return [f"{path or '.'}: {len(left)} items != {len(right)}"]
        return [
            d
            for i, (a, b) in enumerate(zip(left, right, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if left == right else [f"{path or '.'}: {left!r} != {right!r}"]
