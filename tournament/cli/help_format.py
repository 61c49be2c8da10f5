"""Plain help for every command group, listing each command with its whole summary.

Typer's Rich help imports rich.markdown, markdown_it and pygments (~70 ms) on every `--help` and usage
error; Click's plain help needs none of them but cuts each command's summary to one line ending in
"...", which hides what most of our commands do. `SummaryGroup` keeps Click's layout and lists every
command with the whole first paragraph of its help, wrapped to the terminal.

Every Typer app of the CLI is made by `command_group` (`cls=SummaryGroup`, `rich_markup_mode=None`).
Typer applies the root app's markup mode to the whole tree, but each sub-app's own settings are what it
uses when it is run on its own (`typer.main.get_command(strategy_app)`), so both stay consistent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup, TyperOption

if TYPE_CHECKING:
    from typer import _click  # the Click that Typer 0.29 vendors; only its types are used

__all__ = ["SummaryGroup", "command_group", "summary"]


def summary(command: _click.Command) -> str:
    """The command's `short_help` if set, else the first paragraph of its help, on one line."""
    text = command.short_help or (command.help or "").split("\n\n", 1)[0]
    words = [word for word in text.split() if word != "\b"]
    if command.deprecated:
        words.append(
            f"(DEPRECATED: {command.deprecated})" if isinstance(command.deprecated, str) else "(DEPRECATED)"
        )
    return " ".join(words)


class SummaryGroup(TyperGroup):
    """A Typer group whose plain help lists each command with its untruncated summary."""

    def get_help_option(self, ctx: _click.Context) -> TyperOption | None:
        """Typer's `--help` defaults to None, not False, and a flag that is not a bool is coerced through
        Pydantic: every group passed on the way to a sub-command (`tournament strategy --help`) would
        import it (~100 ms) for a value nobody reads."""
        option = super().get_help_option(ctx)
        if option is not None:
            option.default = False
        return option

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def command_group(name: str, help: str, *, root: bool = False) -> typer.Typer:
    """A Typer app with plain help listing whole summaries, that prints its help when called without a
    command. `root`: the `tournament` app itself (no shell-completion options, plain tracebacks)."""
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        cls=SummaryGroup,
        rich_markup_mode=None,
        add_completion=not root,
        pretty_exceptions_enable=not root,
    )
