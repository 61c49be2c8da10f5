"""The `tournament strategy ...` command group: authoring, validating, submitting and managing strategies.

Commands are added to `strategy_app` by the modules that implement them (imported in `tournament.cli.app`).
"""

from __future__ import annotations

import typer

from tournament.cli.help_format import SummaryGroup

strategy_app = typer.Typer(
    name="strategy",
    help="Write, build, try, validate, submit and manage strategies.",
    no_args_is_help=True,
    cls=SummaryGroup,
    rich_markup_mode=None,
)
