"""The canary split: a share of the book's capital traded by a sub-book that the Market
Analyst's challenger drives, beside the champion's main book, in one account.

The desk trades one book. When a canary runs, the optimizer proposes two shapes on the
cycle's returns: the champion's, from the champion analyst's views, and the canary's, from
the challenger's views and the canary's own holdings. The book's shape is their blend,
``(1 - share) * main + share * canary``, and everything the desk enforces (the Risk
Manager's budget and veto, the consensus, the position cap, the circuit breakers, the
hedge) applies to that whole book, as it would without a canary.

After the cycle's fills the canary's holdings are settled (``settle``) and recorded as a
``canary_book`` event: its positions in shares and its cash in cents, so the ledger holds
both sub-books (the main book is the account less the canary). Its target is its shape
sized by the cycle's budget on its own capital, the main book's the rest of the book's
target. Where the two want opposite changes in a name they cross at the decision price,
with no cost; what the book actually traded (as far as the consensus let its orders
through and the fills filled them) is shared in proportion to what each sub-book still
wants, so both fall short of their targets alike, and the canary's part is priced at the
fill (its average price with commission, impact and venue costs). A cycle with no target of its
own (refused, halted) moves the canary with the book, pro rata. It never holds more of a
name than the whole book does, nor on the other side. The index hedge is sized on the
whole book: the canary carries the part of it that its long value is of the book's, so
each sub-book's P&L is hedged alike. Short financing and anything else the account pays
stay with the main book.

A canary starts, with its share of the book's value as cash and no position, when it first
runs for a challenger version (or at another share); when the challenger changes or leaves
the registry, its holdings return to the main book and a new canary starts.

No Dagster import.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

EVENT = "canary_book"


@dataclass(frozen=True)
class CanaryShape:
    """The canary's shape this cycle: fractions of its own capital, before the budget."""

    version: str
    share: float
    weights: pd.Series


def fingerprint(main: str, version: str, share: float, expected_returns: dict[str, float]) -> str:
    """The book's target fingerprint with a canary: it changes with either analyst's
    views, the challenger's version or the share, so a target is reused only when both
    shapes would be the same."""
    text = "|".join(f"{s}:{r:.8f}" for s, r in sorted(expected_returns.items()))
    return hashlib.sha256(f"{main}|{version}|{share}|{text}".encode()).hexdigest()[:16]


def blend(main: pd.Series, canary: CanaryShape) -> pd.Series:
    """The whole book's shape: the champion's on ``1 - share`` of the capital, the
    challenger's on ``share``."""
    names = main.index.union(canary.weights.index, sort=False)
    ours = main.reindex(names).fillna(0.0)
    theirs = canary.weights.reindex(names).fillna(0.0)
    return (1.0 - canary.share) * ours + canary.share * theirs


def is_current(book: dict[str, Any], version: str, share: float) -> bool:
    return bool(book) and book.get("version") == version and book.get("share") == share


def value_cents(book: dict[str, Any], prices: pd.Series) -> int:
    """The canary's value at ``prices`` (a name without a price counts at zero)."""
    held = sum(round(q * _price(prices, s) * 100) for s, q in book.get("positions", {}).items())
    return book.get("cash_cents", 0) + held


def held_weights(book: dict[str, Any], prices: pd.Series) -> pd.Series:
    """The canary's holdings as fractions of its own value (the optimizer's anchor)."""
    value = value_cents(book, prices) / 100
    positions = book.get("positions", {})
    if value <= 0 or not positions:
        return pd.Series(dtype=float)
    return pd.Series({s: q * _price(prices, s) / value for s, q in positions.items()})


def opened(version: str, share: float, book_value_cents: int, cycle_id: str) -> dict[str, Any]:
    """A new canary: its share of the book's value in cash, no position."""
    capital = round(share * book_value_cents)
    return {
        "version": version,
        "share": share,
        "started_cycle": cycle_id,
        "capital_cents": capital,
        "main_capital_cents": book_value_cents - capital,
        "positions": {},
        "cash_cents": capital,
    }


def target_shares(
    book: dict[str, Any], shape: pd.Series, scale: float, prices: pd.Series
) -> dict[str, int]:
    """Whole shares of each name the canary wants: its shape times the cycle's budget
    scale, on its own value at the decision prices."""
    value = value_cents(book, prices) / 100
    out = {}
    for symbol, weight in shape.items():
        price = _price(prices, symbol)
        if weight and price > 0:
            out[symbol] = math.trunc(scale * weight * value / price)
    return out


def settle(
    book: dict[str, Any],
    wanted: dict[str, int] | None,
    positions_after: dict[str, int],
    fills: list[dict[str, Any]],
    prices: pd.Series,
    hedge: str | None = None,
    main_wanted: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The canary after the cycle's fills. ``wanted``: its target shares this cycle (None:
    no target of its own, it follows the book's trades pro rata); ``positions_after``: the
    whole book's shares after the fills; ``fills``: the cycle's fill payloads; ``prices``:
    decision prices; ``hedge``: the hedge instrument, of which the canary carries the part
    its long value is of the book's; ``main_wanted``: the main book's target shares (the
    book's target less the canary's), with ``wanted``."""
    filled: dict[str, int] = {}
    paid: dict[str, int] = {}
    for fill in fills:
        symbol = fill["symbol"]
        filled[symbol] = filled.get(symbol, 0) + fill["signed_quantity"]
        paid[symbol] = paid.get(symbol, 0) + fill["cash_delta_cents"]
    out = {**book, "positions": dict(book.get("positions", {})), "filled_shares": {},
           "transferred_shares": {}}  # fmt: skip
    trades = Trades(positions_after, filled, paid, prices)
    names = (set(out["positions"]) | set(wanted or {}) | set(filled)) - {hedge}
    for symbol in sorted(names):
        if wanted is None or main_wanted is None:
            trades.move(out, symbol, None, None)
        else:
            trades.move(out, symbol, wanted.get(symbol, 0), main_wanted.get(symbol, 0))
    if hedge is not None:
        ours = _long_value(out["positions"], prices)
        theirs = _long_value({s: q for s, q in positions_after.items() if s != hedge}, prices)
        whole = positions_after.get(hedge, 0)
        want = math.trunc(whole * ours / theirs) if theirs > 0 else 0
        trades.move(out, hedge, want, whole - want)
    return out


@dataclass(frozen=True)
class Trades:
    """What the whole book did this cycle, per name: its filled change, the cash the fills
    paid, and its shares after."""

    positions_after: dict[str, int]
    filled: dict[str, int]
    paid: dict[str, int]
    prices: pd.Series

    def move(self, book: dict[str, Any], symbol: str, want: int | None,
             main_want: int | None) -> None:  # fmt: skip
        """The canary's position in ``symbol`` toward ``want``, the main book's toward
        ``main_want`` (None: no target, each follows the book's change pro rata). Where
        they want opposite changes they cross at the decision price, with no cost; the
        book's filled change is shared in proportion to what each still wants, so both
        fall short of their targets alike, and the canary's part is priced at the fill
        (commission, impact and venue costs included). It never holds more than the
        book, nor the other side."""
        held = book["positions"]
        before = held.get(symbol, 0)
        whole = self.positions_after.get(symbol, 0)
        traded = self.filled.get(symbol, 0)
        start = whole - traded  # the book's shares before the fills
        pro_rata = round(traded * before / start) if start else 0
        crossed, share = 0, pro_rata
        if want is not None and main_want is not None:
            ours, theirs = want - before, main_want - (start - before)
            if ours and theirs and (ours > 0) != (theirs > 0):
                crossed = min(abs(ours), abs(theirs)) * (1 if ours > 0 else -1)
            still, total = ours - crossed, ours + theirs
            if traded and total and (total > 0) == (traded > 0):
                share = round(traded * still / total)
        after = min(max(before + crossed + share, min(0, whole)), max(0, whole))
        price = _price(self.prices, symbol)
        if after != before and not price > 0:
            after = before  # no price to transfer at: it keeps what it held
        change = after - before
        outside = 0  # the part of the change priced at the fill
        if change and share and (change > 0) == (share > 0):
            outside = min(abs(share), abs(change)) * (1 if change > 0 else -1)
            book["cash_cents"] += round(self.paid[symbol] * outside / traded)
            book["filled_shares"][symbol] = outside
        if change - outside:
            book["cash_cents"] -= round((change - outside) * price * 100)
            book["transferred_shares"][symbol] = change - outside
        if after:
            held[symbol] = after
        else:
            held.pop(symbol, None)


def _long_value(positions: dict[str, int], prices: pd.Series) -> float:
    return sum(q * _price(prices, s) for s, q in positions.items() if q > 0)


def closed(book: dict[str, Any], why: str) -> dict[str, Any]:
    """The canary's last record: its holdings return to the main book."""
    return {**book, "version": None, "closed_version": book.get("version"), "why": why}


def with_values(book: dict[str, Any], closes: pd.Series, book_value_cents: int) -> dict[str, Any]:
    """The record's values at the bar's close: the canary's, the main book's (the account
    less the canary) and each one's P&L since the canary started."""
    canary = value_cents(book, closes)
    main = book_value_cents - canary
    return {
        **book,
        "nav_cents": canary,
        "main_nav_cents": main,
        "book_nav_cents": book_value_cents,
        "pnl_cents": canary - book["capital_cents"],
        "main_pnl_cents": main - book["main_capital_cents"],
    }


def _price(prices: pd.Series, symbol: str) -> float:
    price = prices.get(symbol, float("nan"))
    return float(price) if price is not None and math.isfinite(price) else 0.0
