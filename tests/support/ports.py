"""Ports for the servers the tests start (one allocator for the tests and the benchmarks)."""

from bench.harness import free_port

__all__ = ["free_port"]
