"""A tournament engine whose players are sandboxed WebAssembly strategy components."""

ENGINE_VERSION = "0.1.0"
"""Recorded with every tournament: results are reproducible for the same engine version."""

__version__ = ENGINE_VERSION
