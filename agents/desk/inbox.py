"""What the consensus accepts: the agents' messages, read from the form they were sent in,
checked for the cycle they answer, refused with the field that failed.

A message crosses a process boundary as JSON (between Dagster steps, or on the bus), so the
consensus validates its sent form against the schema of the type it expects, whatever
object it arrived as. Then it must be fresh: sent by the agent that speaks that type, for
this cycle (version 2 names its ``cycle_id``), not after the decision time (a backtest never
reads the future) and not older than ``max_age``; a rebalancing order must not be past its
deadline. A refused message is never read: the cycle records the refusal and decides
without it (``agents.desk.cycle``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from agents.messages import ENVELOPE_OF, Envelope, MessageType, RebalancingOrder

_BATCH_OF = {t: TypeAdapter(list[e]) for t, e in ENVELOPE_OF.items()}

# Who speaks each type (the design document's agent ids).
SENDERS = {
    MessageType.TRADING_SIGNAL: "market_analyst_001",
    MessageType.RISK_ASSESSMENT: "risk_manager_001",
    MessageType.REBALANCING_ORDER: "portfolio_optimizer_001",
}


@dataclass(frozen=True)
class Refusal:
    message_type: str
    agent_id: str | None
    field: str  # dotted, as the schema names it: "payload.confidence"
    reason: str
    symbol: str | None = None  # a trading signal's, when it could be read

    def describe(self) -> str:
        about = f" for {self.symbol}" if self.symbol else ""
        return f"{self.message_type}{about} refused: {self.field}: {self.reason}"

    def payload(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Delivery:
    accepted: list[Envelope]
    refused: list[Refusal]


def sent_form(message: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """A message as it crosses the wire: JSON types only."""
    if isinstance(message, BaseModel):
        return message.model_dump(mode="json")
    return dict(message)


class Inbox:
    def __init__(self, cycle_id: str, at: datetime, max_age: timedelta) -> None:
        self.cycle_id = cycle_id
        self.at = at
        self.max_age = max_age

    def receive(
        self, messages: Iterable[BaseModel | Mapping[str, Any]], message_type: MessageType
    ) -> Delivery:
        """Every message of a type, each accepted or refused on its own. A cycle's trading
        signals (one per name) are validated as one batch first; only a batch with a bad
        message is read message by message to find it."""
        sent = [sent_form(m) for m in messages]
        try:
            read = _BATCH_OF[message_type].validate_python(sent)
        except ValidationError:
            read = [self.read(m, message_type) for m in sent]
        else:
            read = [self._fresh(message, message_type) for message in read]
        accepted = [m for m in read if not isinstance(m, Refusal)]
        return Delivery(accepted, [m for m in read if isinstance(m, Refusal)])

    def read_one(
        self, message: BaseModel | Mapping[str, Any] | None, message_type: MessageType
    ) -> Envelope | Refusal:
        """The one message of its type a cycle needs, or why it cannot be read."""
        if message is None:
            return Refusal(str(message_type), None, "message", "none was sent for this cycle")
        return self.read(sent_form(message), message_type)

    def read(self, sent: dict[str, Any], message_type: MessageType) -> Envelope | Refusal:
        """The message, or why it is refused."""
        payload = sent.get("payload")
        symbol = payload.get("symbol") if isinstance(payload, dict) else None

        def refuse(field: str, reason: str) -> Refusal:
            sender = sent.get("agent_id")
            return Refusal(str(message_type), sender if isinstance(sender, str) else None,
                           field, reason, symbol if isinstance(symbol, str) else None)  # fmt: skip

        if sent.get("message_type") != message_type:
            got = sent.get("message_type")
            return refuse("message_type", f"expected {message_type}, got {got!r}")
        try:
            message = ENVELOPE_OF[message_type].model_validate(sent)
        except ValidationError as error:
            first = error.errors()[0]
            return refuse(".".join(map(str, first["loc"])) or "message", first["msg"])
        return self._fresh(message, message_type)

    def _fresh(self, message: Envelope, message_type: MessageType) -> Envelope | Refusal:
        """A well-formed message from its agent, for this cycle, in time."""
        reason = None
        if message.agent_id != SENDERS[message_type]:
            reason = ("agent_id", f"{message_type} comes from {SENDERS[message_type]}")
        elif message.cycle_id is not None and message.cycle_id != self.cycle_id:
            reason = ("cycle_id", f"stale: answers {message.cycle_id}, not {self.cycle_id}")
        elif message.timestamp > self.at:
            reason = ("timestamp", f"{message.timestamp} is after the decision time {self.at}")
        elif self.at - message.timestamp > self.max_age:
            reason = ("timestamp", f"stale: older than {self.max_age} at {self.at}")
        # Only an order has a deadline. Asked of a signal, getattr's miss goes through
        # pydantic's __getattr__ and its AttributeError: ~3 us a message, 1.5 ms of 500.
        elif isinstance(message.payload, RebalancingOrder) and message.payload.deadline < self.at:
            reason = ("payload.deadline", f"passed at {message.payload.deadline}")
        if reason is None:
            return message
        symbol = getattr(message.payload, "symbol", None)
        return Refusal(str(message_type), message.agent_id, *reason, symbol)
