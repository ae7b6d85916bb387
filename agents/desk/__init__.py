"""The trading desk: the decision cycle, its market data feed, paper broker and ledger."""
