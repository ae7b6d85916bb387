"""The agents' typed, versioned messages, after the user's design document.

Every message is an ``Envelope``: who sent it (``agent_id``), when (timezone-aware UTC), what
kind (``message_type``), the ``schema_version`` of its payload, and the payload itself.
Validation happens at construction, so a malformed message never reaches another agent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class MessageType(StrEnum):
    TRADING_SIGNAL = "trading_signal"
    RISK_ASSESSMENT = "risk_assessment"
    REBALANCING_ORDER = "rebalancing_order"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TradingSignal(_Strict):
    """The Market Analyst's view of one symbol."""

    symbol: str
    signal: Literal["BUY", "SELL", "HOLD"]
    confidence: Probability
    expected_return: float = Field(description="Expected excess return over time_horizon.")
    time_horizon: str = "1D"
    regime: Literal["calm", "normal", "stressed"] | None = None
    attribution: dict[str, Probability] = Field(
        default_factory=dict, description="Share of the prediction by feature family; sums to 1."
    )

    @model_validator(mode="after")
    def _attribution_sums_to_one(self) -> TradingSignal:
        if self.attribution and abs(sum(self.attribution.values()) - 1.0) > 1e-6:
            raise ValueError(f"attribution shares sum to {sum(self.attribution.values())}, not 1")
        return self


class PositionLimit(_Strict):
    max_weight: float = Field(ge=0.0)
    current: float


class RiskAssessment(_Strict):
    """The Risk Manager's verdict on a proposed portfolio."""

    portfolio_var: float = Field(ge=0.0, description="1-day VaR as a positive loss fraction.")
    portfolio_es: float = Field(ge=0.0, description="1-day Expected Shortfall, same units.")
    confidence_level: Probability = 0.95
    position_limits: dict[str, PositionLimit] = Field(default_factory=dict)
    risk_approval: bool
    constraints: list[str] = Field(default_factory=list)
    veto_reasons: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _veto_has_a_reason(self) -> RiskAssessment:
        if not self.risk_approval and not self.veto_reasons:
            raise ValueError("a veto (risk_approval=False) must say why")
        return self


class Order(_Strict):
    symbol: str
    action: Literal["BUY", "SELL"]
    quantity: int = Field(gt=0)
    urgency: Literal["LOW", "MEDIUM", "HIGH"] = "MEDIUM"
    max_participation: float = Field(default=0.1, gt=0.0, le=1.0)


class RebalancingOrder(_Strict):
    """The Portfolio Optimizer's orders for one rebalance."""

    orders: list[Order]
    expected_cost: float = Field(ge=0.0, description="Expected cost as a fraction of notional.")
    deadline: AwareDatetime


Payload = TypeVar("Payload", TradingSignal, RiskAssessment, RebalancingOrder)

_TYPE_OF_PAYLOAD = {
    TradingSignal: MessageType.TRADING_SIGNAL,
    RiskAssessment: MessageType.RISK_ASSESSMENT,
    RebalancingOrder: MessageType.REBALANCING_ORDER,
}


class Envelope(_Strict, Generic[Payload]):
    agent_id: str = Field(min_length=1)
    timestamp: AwareDatetime
    message_type: MessageType
    schema_version: Literal[1] = SCHEMA_VERSION
    payload: Payload

    @model_validator(mode="after")
    def _type_matches_payload(self) -> Envelope:
        expected = _TYPE_OF_PAYLOAD[type(self.payload)]
        if self.message_type != expected:
            raise ValueError(f"message_type {self.message_type} does not fit {expected} payload")
        return self


def envelope(agent_id: str, payload: Payload, timestamp: datetime | None = None) -> Envelope:
    """Wrap a payload with its sender, type and a UTC timestamp (now, unless given)."""
    return Envelope(
        agent_id=agent_id,
        timestamp=timestamp or datetime.now(UTC),
        message_type=_TYPE_OF_PAYLOAD[type(payload)],
        payload=payload,
    )
