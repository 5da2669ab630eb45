"""Benchmarks run by `make bench` (not by `make test`): baselines, the runner, wrk scripts."""
