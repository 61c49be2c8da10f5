"""Static checks of a compiled component against the contract, before anything runs.

A component must export the player interface at a semver-compatible version with exactly the expected
function signatures, and import nothing but the contract's own interfaces (no WASI by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import wasmtime
from wasmtime.component import (
    Component,
    ComponentInstanceType,
    EnumType,
    FlagsType,
    FuncType,
    ListType,
    OptionType,
    RecordType,
    ResultType,
    TupleType,
    VariantType,
)

from tournament.sandbox import contract
from tournament.sandbox.errors import BadComponentError

_SCALARS = {
    "Bool": "bool",
    "S8": "s8",
    "S16": "s16",
    "S32": "s32",
    "S64": "s64",
    "U8": "u8",
    "U16": "u16",
    "U32": "u32",
    "U64": "u64",
    "F32": "f32",
    "F64": "f64",
    "Char": "char",
    "String": "string",
}


def describe(ty: object) -> str:
    """Render a component type in WIT-like text, so mismatches can be shown as expected vs found."""
    name = type(ty).__name__
    if name in _SCALARS:
        return _SCALARS[name]
    if isinstance(ty, FuncType):
        params = ", ".join(f"{param}: {describe(param_ty)}" for param, param_ty in ty.params)
        result = "" if ty.result is None else f" -> {describe(ty.result)}"
        return f"func({params}){result}"
    if isinstance(ty, RecordType):
        return "record{" + ", ".join(f"{field}: {describe(f_ty)}" for field, f_ty in ty.fields) + "}"
    if isinstance(ty, ListType):
        return f"list<{describe(ty.element)}>"
    if isinstance(ty, OptionType):
        return f"option<{describe(ty.payload)}>"
    if isinstance(ty, TupleType):
        return "tuple<" + ", ".join(describe(element) for element in ty.elements) + ">"
    if isinstance(ty, EnumType):
        return "enum{" + ", ".join(ty.names) + "}"
    if isinstance(ty, FlagsType):
        return "flags{" + ", ".join(ty.names) + "}"
    if isinstance(ty, ResultType):
        ok = "_" if ty.ok is None else describe(ty.ok)
        err = "_" if ty.err is None else describe(ty.err)
        return f"result<{ok}, {err}>"
    if isinstance(ty, VariantType):
        return "variant{...}"
    if isinstance(ty, ComponentInstanceType):
        return "instance"
    return name.lower()


@dataclass(frozen=True, slots=True)
class ContractReport:
    """What the static check learned about a component that passed it."""

    player_interface: str
    """The exported interface name, e.g. `tournament:strategy/player@1.0.0`."""
    wit_version: str
    imports: tuple[str, ...]
    uses_wasi: bool


@dataclass(frozen=True, slots=True)
class ContractProblems:
    """Everything the static check found, with export and import problems kept apart.

    Admission reports show the two as separate checks; `check_contract` joins them into one error.
    """

    export_problems: tuple[str, ...]
    """Problems with the player export: missing, incompatible version, wrong signatures."""
    import_problems: tuple[str, ...]
    """Imports outside the allow-list and host imports with the wrong signature."""
    player_interface: str | None
    """The compatible player export's name, None when there is none."""
    wit_version: str | None
    """The version of the player export found (compatible or not), None when there is none."""
    imports: tuple[str, ...]
    uses_wasi: bool
    """Whether any import is a WASI interface (allowed or not)."""

    @property
    def ok(self) -> bool:
        return not self.export_problems and not self.import_problems and self.player_interface is not None

    def report(self) -> ContractReport:
        """The report of a component that fits; BadComponentError naming every problem otherwise."""
        if not self.ok or self.player_interface is None or self.wit_version is None:
            raise BadComponentError("; ".join((*self.export_problems, *self.import_problems)))
        return ContractReport(self.player_interface, self.wit_version, self.imports, self.uses_wasi)


def check_contract(
    engine: wasmtime.Engine, component: Component, *, allow_wasi: bool = False
) -> ContractReport:
    """Raise BadComponentError (one line, naming every problem) unless the component fits the contract."""
    return contract_problems(engine, component, allow_wasi=allow_wasi).report()


def contract_problems(
    engine: wasmtime.Engine, component: Component, *, allow_wasi: bool = False
) -> ContractProblems:
    """Read the component's type and list every way it departs from the contract (nothing runs)."""
    component_type = component.type
    exports = {name: item.ty for name, item in component_type.exports(engine).items()}
    imports = {name: item.ty for name, item in component_type.imports(engine).items()}
    export_problems: list[str] = []
    player_name, player, found_version = _find_player(exports, export_problems)
    if player is not None:
        _check_player(engine, player, export_problems)
    import_problems: list[str] = []
    uses_wasi = _check_imports(engine, imports, allow_wasi, import_problems)
    return ContractProblems(
        export_problems=tuple(export_problems),
        import_problems=tuple(import_problems),
        player_interface=player_name,
        wit_version=found_version,
        imports=tuple(sorted(imports)),
        uses_wasi=uses_wasi,
    )


def _find_player(
    exports: Mapping[str, object], problems: list[str]
) -> tuple[str | None, ComponentInstanceType | None, str | None]:
    """(compatible export name, its type, the version found); the version is set even when incompatible."""
    found_versions: list[str] = []
    for name, ty in exports.items():
        parsed = contract.parse_interface_name(name)
        if parsed is None or parsed.package != contract.PACKAGE or parsed.name != contract.PLAYER:
            continue
        if contract.is_compatible(parsed.version) and isinstance(ty, ComponentInstanceType):
            return name, ty, parsed.version_text
        found_versions.append(parsed.version_text)
    expected = f"{contract.PACKAGE}/{contract.PLAYER}@{contract.VERSION[0]}.x"
    if found_versions:
        problems.append(
            f"exports {contract.PACKAGE}/{contract.PLAYER} at incompatible version "
            f"{', '.join(found_versions)} (this engine speaks {expected})"
        )
        return None, None, found_versions[0]
    listed = ", ".join(sorted(exports)) or "nothing"
    problems.append(f"does not export {expected} (exports: {listed})")
    return None, None, None


def _check_player(engine: wasmtime.Engine, player: ComponentInstanceType, problems: list[str]) -> None:
    funcs = {name: item.ty for name, item in player.exports(engine).items() if isinstance(item.ty, FuncType)}
    for func_name, expected in contract.EXPECTED_EXPORTS.items():
        ty = funcs.get(func_name)
        if ty is None:
            problems.append(f"missing export {func_name}: expected {expected}")
            continue
        found = describe(ty)
        if found != expected:
            problems.append(f"export {func_name} has the wrong signature: expected {expected}, found {found}")


def _check_imports(
    engine: wasmtime.Engine, imports: Mapping[str, object], allow_wasi: bool, problems: list[str]
) -> bool:
    uses_wasi = False
    forbidden: list[str] = []
    for name, ty in sorted(imports.items()):
        parsed = contract.parse_interface_name(name)
        if parsed is not None and parsed.package == contract.PACKAGE:
            if not contract.is_compatible(parsed.version):
                forbidden.append(f"{name} (incompatible version)")
            elif parsed.name == contract.HOST and isinstance(ty, ComponentInstanceType):
                _check_host_import(engine, ty, problems)
            elif parsed.name != contract.TYPES:
                forbidden.append(name)
            continue
        if parsed is not None and parsed.package.startswith("wasi:"):
            uses_wasi = True
            if allow_wasi:
                continue
        forbidden.append(name)
    if forbidden:
        problems.append("imports outside the allow-list: " + ", ".join(forbidden))
    return uses_wasi


def _check_host_import(engine: wasmtime.Engine, host: ComponentInstanceType, problems: list[str]) -> None:
    for name, item in host.exports(engine).items():
        if not isinstance(item.ty, FuncType):
            continue
        expected = contract.EXPECTED_HOST_IMPORTS.get(name)
        found = describe(item.ty)
        if expected is None:
            problems.append(f"imports unknown host function {name}: {found}")
        elif found != expected:
            problems.append(
                f"imports host function {name} with the wrong signature: expected {expected}, found {found}"
            )
