"""Offline evaluation: protocols, external baselines, the runner, saved results, the report."""
