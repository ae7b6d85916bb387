"""The registry's history as the UI shows it: every promotion, admission, refusal,
rejection and rollback the workflow recorded on a real MLflow registry and ledger, per
agent, in order."""

from monitoring.promotion import evaluate_gate
from monitoring.registry_history import acts_markdown, registry_acts
from tests.monitoring.test_promotion import evidence, register, registry  # noqa: F401


def test_every_act_is_listed_per_agent_in_the_order_it_happened(registry):  # noqa: F811
    workflow, log = registry
    assert registry_acts(log).empty and acts_markdown(registry_acts(log)).startswith("no ")
    v1, v2 = register(0.1), register(0.2)
    workflow.apply_gate("market_analyst", v2, evaluate_gate(evidence(drifted_share=0.4)))
    workflow.apply_gate("market_analyst", v2, evaluate_gate(evidence()))
    workflow.apply_verdict("market_analyst", v2, True, "live gate passed", {})
    v3 = register(0.3)
    workflow.reject("market_analyst", v3, "a quant", "worse on the crash days")
    workflow.rollback("market_analyst", "a quant", "live P&L below band")

    acts = registry_acts(log, "market_analyst")
    assert list(acts["act"]) == [
        "gate_refused",
        "gate_admitted",
        "gate_promoted",
        "rejected",
        "rolled_back",
    ]
    assert list(acts["version"]) == [v2, v2, v2, v3, v2]
    assert list(acts["champion_after"]) == [v1, v1, v2, v2, v1]
    assert acts["at"].is_monotonic_increasing
    assert registry_acts(log, "risk_manager").empty
    last_two = registry_acts(log, "market_analyst", limit=2)
    assert list(last_two["act"]) == ["rejected", "rolled_back"]
    table = acts_markdown(acts)
    assert "live P&L below band" in table and table.count("\n") == len(acts) + 1
