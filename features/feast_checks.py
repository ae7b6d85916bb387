"""Feast's run-time type checks: on while developing, off in Quorum's deployed processes.

Feast decorates its classes with typeguard's ``@typechecked``. typeguard instruments each
method by parsing, transforming and compiling the method's whole module again: 253 methods
when Feast is imported, so ``import feast`` took 4.6 s with them and 1.9 s without on this
2-core machine. Every Dagster run is a new process that imports Feast (a decision run's
first step spent about 2.7 s of its ~9 s there). typeguard documents the decorator as "meant
for selectively introducing type checking into a code base where the checks aren't meant to
be run in production", and makes it a no-op under ``python -O``; running Quorum under ``-O``
would also strip every ``assert`` of every library, so the entry points turn off only this
(``orchestration.instance.prepare``, when ``QUORUM_FEAST_TYPE_CHECKS`` is false, the
default). The checks only raise on a wrong argument type given to Feast's constructors; the
tests' own process keeps them, so a misuse in Quorum's code still fails there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def _unchecked(target: Any = None, **_options: Any) -> Any:
    """typeguard's ``typechecked`` as it is under ``python -O``: the target unchanged."""
    if target is None:
        return _unchecked
    return target


def skip_feast_type_checks() -> bool:
    """Before Feast's first import in this process, make ``@typechecked`` return what it
    decorates, as ``python -O`` does. Returns whether it took effect: False when Feast is
    imported already (its classes are instrumented; nothing is half-changed)."""
    if "feast" in sys.modules:
        return False
    import typeguard

    typeguard.typechecked = _unchecked  # Feast reads it with `from typeguard import ...`
    return True


def feast_type_checks_active() -> bool:
    """Whether a Feast import in this process would be (or was) type-checked."""
    import typeguard

    decorator: Callable[..., Any] = typeguard.typechecked
    return decorator is not _unchecked
