"""`tournament strategy new` and `tournament strategy build`: start a strategy project and build it.

The authoring modules are imported inside the commands so `tournament --help` stays fast.
"""

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from tournament.cli.strategy_app import strategy_app

__all__ = ["strategy_app"]


def _fail(message: str, details: str = "") -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    for line in details.splitlines():
        typer.echo(f"  {line}", err=True)
    raise SystemExit(1)


def _say(message: str) -> None:
    typer.echo(message, err=True)


@strategy_app.command("new")
def new(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Strategy name, kebab-case (e.g. beat-last).")],
    lang: Annotated[str, typer.Option("--lang", help="Language: python, c, rust or js.")],
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Folder to create (default: ./NAME).", show_default=False)
    ] = None,
    games: Annotated[str, typer.Option(help="Comma-separated games it plays: rps, rpsls, ipd.")] = "rps",
) -> None:
    """Write a ready-to-build strategy project: source, contract, strategy.toml and README."""
    from tournament.authoring.scaffold import ProjectError, create_project, project_files

    target = directory or Path(name)
    try:
        project = create_project(name, lang, target, tuple(g.strip() for g in games.split(",") if g.strip()))
    except (ProjectError, OSError) as error:
        _fail(str(error))
    typer.echo(f"created {target}/ ({project.language}, games: {', '.join(project.games)}):")
    for file in project_files(target):
        typer.echo(f"  {file}")
    typer.echo(f"next: tournament strategy build {target}")


@strategy_app.command("build")
def build(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Project folder (with strategy.toml).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Output file (default: DIR/build/NAME.wasm).", show_default=False
        ),
    ] = None,
) -> None:
    """Build a strategy project into a component, installing its toolchain on first use."""
    from tournament.authoring.scaffold import ProjectError
    from tournament.authoring.toolchains import BuildError, build_project

    try:
        built = build_project(directory, output, _say)
    except ProjectError as error:
        _fail(str(error))
    except BuildError as error:
        _fail(str(error), error.details)
    except OSError as error:
        _fail(str(error))
    typer.echo(f"built {built.path} ({built.size:,} bytes, sha256 {built.sha256})")
