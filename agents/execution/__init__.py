"""The Execution Agent: schedules, market impact, simulated fills, implementation shortfall."""
