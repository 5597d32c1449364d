"""The package's import graph: one-way layers, no cycle, not even through a function-local import.

Every ``import`` statement of every module counts, wherever it sits (module level or inside a
function), except those under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "keras_cifar_zoo"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except the bodies of ``if TYPE_CHECKING:`` blocks."""
    out: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        out.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", "") == "TYPE_CHECKING":
                stack.extend(child.orelse)
                continue
            stack.append(child)
    return out


def _target(name: str) -> str | None:
    """The package module an imported dotted name lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import submodule` depends on the submodule, not on pkg's __init__
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _target(name) if name.startswith("keras_cifar_zoo") else None
            if target and target != module:
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for dep in sorted(GRAPH[module]):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(GRAPH):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    assert _cycle() is None, " -> ".join(_cycle() or [])


def _reaches(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for dep in GRAPH[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


@pytest.mark.parametrize(
    ("lower", "never"),
    [
        ("keras_cifar_zoo.registry", "keras_cifar_zoo.weights"),
        ("keras_cifar_zoo.models", "keras_cifar_zoo.registry"),
        ("keras_cifar_zoo.weights", "keras_cifar_zoo.training"),
        ("keras_cifar_zoo.weights", "keras_cifar_zoo.zoo"),
        ("keras_cifar_zoo.training", "keras_cifar_zoo.publish"),
        ("keras_cifar_zoo.weights", "keras_cifar_zoo.publish"),
        ("keras_cifar_zoo.data", "keras_cifar_zoo.registry"),
    ],
)
def test_layers_depend_one_way(lower: str, never: str):
    reached = {m for m in MODULES if m == lower or m.startswith(lower + ".")}
    reached |= {dep for m in list(reached) for dep in _reaches(m)}
    assert not {m for m in reached if m == never or m.startswith(never + ".")}, (
        f"{lower} reaches {never}"
    )


def test_no_module_of_the_package_is_imported_by_the_cli_parsers_beyond_cheap_ones():
    """``--help`` must not import Keras: the CLI's top module imports no model code."""
    assert not GRAPH["keras_cifar_zoo.cli"] & {
        "keras_cifar_zoo.zoo",
        "keras_cifar_zoo.registry",
        "keras_cifar_zoo.training",
    }


RECORD_KEYS = {
    "wall_time_s",
    "hardware",
    "keras_version",
    "training_data",
    "num_images",
    "epochs_planned",
    "train_images",
}
"""Keys of a run's metrics.json that only a definition of the record spells out together."""


def test_the_run_record_keys_are_defined_once():
    """A module naming four or more metrics.json keys as strings is writing or reading the
    record by hand: it must go through keras_cifar_zoo.training.run_record instead. The
    manifest's field table is another schema (the published checkpoint's)."""
    owners = {
        PACKAGE / "training" / "run_record.py",
        PACKAGE / "weights" / "manifest.py",
    }
    scripts = PACKAGE.parent / "scripts"
    offenders = {}
    for path in sorted([*PACKAGE.rglob("*.py"), *scripts.rglob("*.py")]):
        if path in owners:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named = {
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and n.value in RECORD_KEYS
        }
        if len(named) >= 4:
            offenders[str(path.relative_to(PACKAGE.parent))] = sorted(named)
    assert offenders == {}


def _command_line_flags() -> list[str]:
    """Every option string of every command (``--help`` and ``--version`` aside)."""
    import argparse

    from keras_cifar_zoo.cli import build_parser

    flags, parsers = set(), [build_parser()]
    while parsers:
        parser = parsers.pop()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
            flags.update(o for o in action.option_strings if o.startswith("--"))
    return sorted(flags - {"--help", "--version"})


def test_only_the_cli_spells_its_flags():
    """The library names its keyword arguments (``hub_dir=PATH``); the command line translates
    them into its flags (``--hub-dir PATH``), so no module below it may know their spelling."""
    flags = _command_line_flags()
    assert {"--hub-dir", "--offline", "--out", "--data-dir", "--run-info"} <= set(flags)
    spelled = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if not path.is_relative_to(PACKAGE / "cli") and path.name != "__main__.py":
            text = path.read_text(encoding="utf-8")
            found = [f for f in flags if re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text)]
            if found:
                spelled[str(path.relative_to(PACKAGE.parent))] = found
    assert spelled == {}


def test_no_module_imports_the_package_root_but_the_cli():
    """``keras_cifar_zoo/__init__.py`` imports everything lazily from the modules below it; a
    module importing a name from it (``__version__``, ``load_model``) reaches back up."""
    upward = {}
    for module, path in sorted(MODULES.items()):
        if module == "keras_cifar_zoo" or module.startswith(
            ("keras_cifar_zoo.cli", "keras_cifar_zoo.__main__")
        ):
            continue
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name == "keras_cifar_zoo"]
            elif isinstance(node, ast.ImportFrom) and node.module == "keras_cifar_zoo":
                # `from keras_cifar_zoo import registry` names a module, not the root's attribute
                names = [a.name for a in node.names if f"keras_cifar_zoo.{a.name}" not in MODULES]
            else:
                continue
            if names:
                upward.setdefault(module, []).extend(names)
    assert upward == {}
