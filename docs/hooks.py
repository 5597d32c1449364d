"""MkDocs hook: fills the generated tables (``<!-- NAME-table:start -->`` markers) at build time.

The tables come from ``docs/gen_tables.py``, the same code that keeps README.md current, so
the documentation can never show a stale model list.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

_spec = importlib.util.spec_from_file_location(
    "keras_cifar_zoo_docs_gen_tables", Path(__file__).with_name("gen_tables.py")
)
gen_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_tables)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Refills every marked table region of a page before MkDocs renders it."""
    return gen_tables.render(markdown)
