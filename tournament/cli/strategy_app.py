"""The `tournament strategy ...` command group: authoring, validating, submitting and managing strategies.

Commands are added to `strategy_app` by the modules that implement them (imported in `tournament.cli.app`).
"""

from __future__ import annotations

from tournament.cli.help_format import command_group

strategy_app = command_group("strategy", "Write, build, try, validate, submit and manage strategies.")
