"""Offline evaluation: the protocols, external baselines, the runner, saved results and their report."""
