"""Benchmarks, run on demand (see the README); each prints a same-run baseline."""
