from tests.support.payloads import differences

DECISION = {
    "method": "hierarchical_risk_parity",
    "weights": {"AAPL": 0.06733531649471032, "HD": 0.06655362173064444},
    "orders": [{"symbol": "AAPL", "action": "BUY", "quantity": 510}],
    "halted": False,
    "var_99": float("nan"),
}


def _with(**changes) -> dict:
    return {**DECISION, **changes}


def test_floats_differing_in_their_last_bits_are_the_same_decision() -> None:
    rounded = _with(weights={"AAPL": 0.06733531649471035, "HD": 0.06655362173064447})
    assert differences(rounded, DECISION) == []


def test_a_changed_share_name_flag_or_weight_is_a_different_decision() -> None:
    order = {"symbol": "AAPL", "action": "BUY", "quantity": 511}
    assert differences(_with(orders=[order]), DECISION) == ["orders[0].quantity: 511 != 510"]
    assert differences(_with(weights={"AAPL": 0.0673353165, "HD": 0.06655362173064444}), DECISION)
    assert differences(_with(weights={"MSFT": 0.0673, "HD": 0.0665}), DECISION)
    assert differences(_with(halted=0), DECISION)  # not the same as False
    assert differences(_with(orders=[]), DECISION) == ["orders: 0 items != 1"]
    assert differences(_with(var_99=0.01), DECISION) == ["var_99: 0.01 != nan"]
    assert differences(_with(method="hrp"), DECISION)
