"""The agents' typed, versioned messages, after the user's design document.

Every message is an ``Envelope``: who sent it (``agent_id``), when (timezone-aware UTC), what
kind (``message_type``), the ``schema_version`` of its payload, and the payload itself.
Validation happens at construction, so a malformed message never reaches another agent, and
again where a message is received (``agents.desk.inbox``), from the form it was sent in.

Schema versions. Version 2 (this one) adds what the consensus needs to decide from messages
alone: the envelope's ``cycle_id`` (required: a message answers one cycle, and one sent for
another is stale) and ``model_version``; the risk assessment's forecast VaR and its limit (the
headroom the risk manager votes with); the rebalancing order's method, conviction and target
weights. Version 1 messages (the design document's) are still read: every field version 2
added is optional in the payload, and how the consensus reads a message without it is said
where it is read (``RiskAssessment.var_headroom``, ``RebalancingOrder.support``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 2
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
    # Version 2
    forecast_var_99: float | None = Field(default=None, ge=0.0, description="1-day, forecast.")
    var_limit_99: float | None = Field(default=None, gt=0.0, description="The desk's limit.")

    def var_headroom(self) -> float:
        """The unused share of the VaR limit. A version 1 assessment carries no forecast: the
        risk manager then backs only trades that reduce risk (headroom 0)."""
        if self.forecast_var_99 is None or self.var_limit_99 is None:
            return 0.0
        return 1.0 - self.forecast_var_99 / self.var_limit_99

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
    # Version 2
    method: str | None = None
    conviction: Probability | None = Field(
        default=None, description="How strongly the optimizer backs these orders."
    )
    target_weights: dict[str, float] = Field(default_factory=dict)

    def support(self) -> float:
        """The optimizer's support for its orders: its conviction; a version 1 order, which
        states none, gets the even 0.5 the desk gives a proposal without views."""
        return 0.5 if self.conviction is None else self.conviction


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
    schema_version: Literal[1, 2] = SCHEMA_VERSION
    cycle_id: str | None = Field(
        default=None, validate_default=True, description="Version 2: the cycle it answers."
    )
    model_version: str | None = Field(default=None, description="The registered model's.")
    payload: Payload

    # Field validators, so that a refusal names the field (``agents.desk.inbox``).
    @field_validator("cycle_id")
    @classmethod
    def _cycle_from_version_2(cls, cycle_id: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("schema_version", SCHEMA_VERSION) >= 2 and not cycle_id:
            raise ValueError("cycle_id is required from schema version 2")
        return cycle_id

    @field_validator("payload")
    @classmethod
    def _type_matches_payload(cls, payload: BaseModel, info: ValidationInfo) -> BaseModel:
        expected = _TYPE_OF_PAYLOAD[type(payload)]
        if info.data.get("message_type", expected) != expected:
            raise ValueError(f"message_type {info.data['message_type']} does not fit {expected}")
        return payload


# The envelope of each type, to read a message received in its sent (JSON) form.
ENVELOPE_OF = {t: Envelope[p] for p, t in _TYPE_OF_PAYLOAD.items()}


def envelope(
    agent_id: str,
    payload: Payload,
    timestamp: datetime | None = None,
    *,
    cycle_id: str,
    model_version: str | int | None = None,
) -> Envelope:
    """Wrap a payload with its sender, type, the cycle it answers and a UTC timestamp (now,
    unless given)."""
    return Envelope(
        agent_id=agent_id,
        timestamp=timestamp or datetime.now(UTC),
        message_type=_TYPE_OF_PAYLOAD[type(payload)],
        cycle_id=cycle_id,
        model_version=None if model_version is None else str(model_version),  # registry: int
        payload=payload,
    )
