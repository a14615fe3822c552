"""Benchmarks for mysqlpool; see ``python -m benchmarks.bench --help``."""
