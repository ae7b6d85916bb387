"""The walk-forward backtest of the whole desk, as a Dagster asset."""
