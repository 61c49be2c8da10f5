"""JavaScript strategies: componentize-js (npm) with every WASI feature disabled, so no WASI imports.

componentize-js is installed once with npm into the toolchain folder; preview2-shim is pinned to the
0.17 line its peer dependency names, because later shims open no directories by default and
componentize-js then cannot read the WIT folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tournament.authoring.scaffold import StrategyProject
from tournament.authoring.toolchains.common import (
    WORLD,
    BuildError,
    Say,
    apt_install,
    install_once,
    is_root,
    run,
    toolchains_home,
)

PACKAGES = ("@bytecodealliance/componentize-js@0.23", "@bytecodealliance/preview2-shim@0.17")
SOURCE = "strategy.js"
DISABLED = ("stdio", "random", "clocks", "http", "fetch-event")


def _node(say: Say) -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node, npm
    if not is_root():
        raise BuildError("Node.js and npm are missing; install them with: sudo apt-get install -y nodejs npm")
    apt_install(("nodejs", "npm"), "Node.js and npm", say)
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        raise BuildError("node or npm is still missing after `apt-get install nodejs npm`")
    return node, npm


SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def _npm_environment() -> dict[str, str]:
    """Node trusts only its own CA list; also trust the system's, so TLS-inspecting proxies work too."""
    environment = dict(os.environ)
    if "NODE_EXTRA_CA_CERTS" not in environment and SYSTEM_CA_BUNDLE.is_file():
        environment["NODE_EXTRA_CA_CERTS"] = str(SYSTEM_CA_BUNDLE)
    return environment


def componentize_js(say: Say) -> tuple[str, Path]:
    """node and the componentize-js entry script, installed on first use."""
    node, npm = _node(say)

    def install(folder: Path) -> None:
        folder.mkdir(parents=True)
        run(
            "npm install",
            [npm, "install", "--no-fund", "--no-audit", "--prefix", folder, *PACKAGES],
            env=_npm_environment(),
        )

    folder = install_once(toolchains_home() / "js", " and ".join(PACKAGES) + " (from npm)", say, install)
    return node, folder / "node_modules" / "@bytecodealliance" / "componentize-js" / "src" / "cli.js"


def build(project: StrategyProject, work: Path, say: Say) -> Path:
    if not (project.directory / SOURCE).is_file():
        raise BuildError(f"{project.directory / SOURCE} not found: the strategy's module")
    node, cli = componentize_js(say)
    component = work / "component.wasm"
    args: list[str | Path] = [
        node,
        cli,
        SOURCE,
        "--wit",
        "wit",
        "-n",
        WORLD,
        "-d",
        *DISABLED,
        "-o",
        component,
    ]
    run("componentize-js", args, cwd=project.directory)  # it reads the sources relative to their folder
    return component
