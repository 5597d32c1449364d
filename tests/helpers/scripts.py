"""Loading the repository's scripts (benchmarks/, docs/, scripts/) as modules, which are not
part of the package and so cannot be imported by name."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent.parent


def load_script(name: str, relative_path: str) -> ModuleType:
    """Runs the script at ``ROOT / relative_path`` as a fresh module called ``name``."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
