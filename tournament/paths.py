"""Where the checkout keeps the files the engine reads at run time (no imports: cheap for the CLI)."""

from __future__ import annotations

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
BUILTINS_MANIFEST = CHECKOUT / "strategies" / "build" / "manifest.json"
"""The manifest `strategies/build.py` writes; every database registers the strategies it lists."""
MIGRATIONS_DIR = CHECKOUT / "migrations"
WIT_DIR = CHECKOUT / "wit"
