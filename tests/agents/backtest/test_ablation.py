"""The ablation's variants: each swaps one piece of the desk as configured and keeps the rest."""

from dataclasses import replace

from agents.backtest.ablation import ablation_variants
from agents.backtest.desk_run import DeskPolicies
from agents.desk.config import DeskConfig


def test_the_anchor_variant_swaps_the_rebalance_anchor_and_nothing_else():
    for anchor, other in (("close", "open"), ("open", "close")):
        config = DeskConfig(feed_name="backtest", rebalance_anchor=anchor)
        policies = DeskPolicies()
        variants = {v.name: v for v in ablation_variants(config, policies)}
        variant = variants[f"rebalance_from_{other}"]
        assert variant.config == replace(config, rebalance_anchor=other)
        assert variant.policies == policies
        assert f"rebalance_from_{anchor}" not in variants  # the desk itself is that run
