"""Dagster glue for drift reports, the promotion gate, alerts."""
