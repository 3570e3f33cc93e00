"""Benchmarks: latency of the online paths, scale on synthetic catalogs, the app's rerun time."""
