"""MkDocs hook: fills the generated tables (``<!-- NAME-table:start -->`` markers) at build time
and draws the plots into the built site.

The tables come from ``docs/gen_tables.py``, the same code that keeps README.md current, and
the plots from ``docs/gen_plots.py``, both reading weights_manifest.json when the site is
built, so the documentation never shows a stale model list or checkpoint.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.keras_cifar_zoo")


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(
        f"keras_cifar_zoo_docs_{name}", Path(__file__).with_name(f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_tables = _load("gen_tables")


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Refills every marked table region of a page before MkDocs renders it; links in the
    generated text are made relative to the page's folder."""
    depth = page.file.src_uri.count("/")
    return gen_tables.render(markdown, docs_root="../" * depth)


_INLINE_CODE = re.compile(r"<code>([^<]*)</code>")
_HYPHENATED = re.compile(r"[^\s<>]*[-:][^\s<>]*")
_DATASET = re.compile(r"<[^>]*>|\bCIFAR-(?:10|100)\b")  # tags are matched to be skipped


def _unbroken(match: re.Match[str]) -> str:
    if match[0].startswith("<"):
        return match[0]
    return f'<span class="nobr">{match[0]}</span>'


def on_page_content(html: str, **kwargs: Any) -> str:
    """Keeps hyphenated names whole: a browser may break a line after any hyphen or colon,
    which splits ``keras-cifar-zoo``, ``--recipe``, ``"cifar10:<tag>"`` or CIFAR-10 in two.
    Each such word of inline code, and the dataset names, get a span the stylesheet keeps on
    one line."""

    def code(match: re.Match[str]) -> str:
        return f"<code>{_HYPHENATED.sub(_unbroken, match[1])}</code>"

    return _DATASET.sub(_unbroken, _INLINE_CODE.sub(code, html))


def on_post_build(config: Any, **kwargs: Any) -> None:
    """Draws the plots again into the built site, from the manifest the tables were read from
    (without matplotlib the committed copies in docs/img/ stay)."""
    if importlib.util.find_spec("matplotlib") is None:
        log.info("matplotlib is not installed: the site keeps the plots committed in docs/img/")
        return
    for path in _load("gen_plots").write_all(Path(config["site_dir"]) / "img"):
        log.debug("drew %s", path)
