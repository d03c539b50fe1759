"""Scenario files (``*.toml``) shipped with shopgym, and the benchmark runner that crosses
scenarios x policies x seeds (``scenarios.benchmark``)."""
