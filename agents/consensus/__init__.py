"""The consensus of the four agents: votes, veto and weights that learn."""
