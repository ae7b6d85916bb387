"""The design's messages across schema versions: a version 1 message (the design document's
own example) is still read, and what the consensus takes from its missing fields is stated."""

import pytest
from pydantic import ValidationError

from agents.messages import ENVELOPE_OF, SCHEMA_VERSION, MessageType

DESIGN_RISK_MESSAGE = {  # the design document's example, schema version 1
    "agent_id": "risk_manager_001",
    "timestamp": "2025-07-19T10:30:01Z",
    "message_type": "risk_assessment",
    "schema_version": 1,
    "payload": {
        "portfolio_var": 0.02,
        "portfolio_es": 0.03,
        "position_limits": {"AAPL": {"max_weight": 0.05, "current": 0.03}},
        "risk_approval": True,
        "constraints": ["max_sector_exposure: 0.15"],
    },
}


def test_a_version_1_risk_assessment_is_read_and_backs_only_risk_reducing_trades():
    message = ENVELOPE_OF[MessageType.RISK_ASSESSMENT].model_validate(DESIGN_RISK_MESSAGE)
    assert message.schema_version == 1 < SCHEMA_VERSION and message.cycle_id is None
    assert message.payload.risk_approval
    assert message.payload.var_headroom() == 0.0  # no forecast VaR: no headroom to add risk
    current = {**DESIGN_RISK_MESSAGE, "schema_version": 2, "cycle_id": "replay-20250719T1430Z"}
    current["payload"] = {**current["payload"], "forecast_var_99": 0.01, "var_limit_99": 0.04}
    read = ENVELOPE_OF[MessageType.RISK_ASSESSMENT].model_validate(current)
    assert read.payload.var_headroom() == pytest.approx(0.75)


def test_a_version_1_rebalancing_order_gets_the_even_support_of_a_proposal_without_views():
    sent = {
        "agent_id": "portfolio_optimizer_001",
        "timestamp": "2025-07-19T10:30:02Z",
        "message_type": "rebalancing_order",
        "schema_version": 1,
        "payload": {
            "orders": [{"symbol": "AAPL", "action": "BUY", "quantity": 100}],
            "expected_cost": 0.0015,
            "deadline": "2025-07-19T11:00:00Z",
        },
    }
    message = ENVELOPE_OF[MessageType.REBALANCING_ORDER].model_validate(sent)
    assert message.payload.support() == 0.5 and message.payload.orders[0].urgency == "MEDIUM"


def test_version_2_requires_the_cycle_and_no_version_reads_a_field_it_does_not_know():
    unanswered = {**DESIGN_RISK_MESSAGE, "schema_version": 2}
    with pytest.raises(ValidationError, match="cycle_id is required"):
        ENVELOPE_OF[MessageType.RISK_ASSESSMENT].model_validate(unanswered)
    unknown = {**DESIGN_RISK_MESSAGE, "schema_version": 3}
    with pytest.raises(ValidationError, match="schema_version"):
        ENVELOPE_OF[MessageType.RISK_ASSESSMENT].model_validate(unknown)
    extra = {**DESIGN_RISK_MESSAGE, "payload": {**DESIGN_RISK_MESSAGE["payload"], "beta": 1}}
    with pytest.raises(ValidationError, match=r"payload\.beta"):
        ENVELOPE_OF[MessageType.RISK_ASSESSMENT].model_validate(extra)
    naive = {**DESIGN_RISK_MESSAGE, "timestamp": "2025-07-19T10:30:01"}
    with pytest.raises(ValidationError, match="timezone"):
        ENVELOPE_OF[MessageType.RISK_ASSESSMENT].model_validate(naive)
