"""Markdown tables generated from the package, for README.md and the documentation.

A table lives between two markers in a Markdown file::

    <!-- models-table:start -->
    ...generated, never edited by hand...
    <!-- models-table:end -->

:func:`render` refills every marked region it finds from :data:`TABLES`. The mkdocs hook
(``docs/hooks.py``) calls it on every page at build time; this script rewrites README.md, and
``tests/test_docs.py`` fails when README.md is stale.

Usage::

    python docs/gen_tables.py            # rewrite the tables in README.md
    python docs/gen_tables.py --check    # exit 1 (and say which) if README.md is stale

To add a table (for example accuracies from ``weights_manifest.json``), write a function
returning Markdown and add it to :data:`TABLES`; put its markers where it should appear.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

ARTICLES = {
    "000": "VGG16 with BatchNorm after every convolution",
    "001": "A simple CNN, a BatchNorm CNN and ResNet v1, without augmentation",
    "002": "VGG configurations A-E with BatchNorm, from scratch and from ImageNet",
    "003": "A six-convolution ELU CNN with augmentation and L2",
    "004": "A three-block VGG-lite without BatchNorm",
}
"""Short titles of the seed articles, by number."""


def _zoo() -> Any:
    """Imports keras_cifar_zoo from this checkout, installed or not."""
    if str(ROOT) not in sys.path:  # mkdocs resets sys.path after loading hooks; check each time
        sys.path.insert(0, str(ROOT))
    import keras_cifar_zoo

    return keras_cifar_zoo


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|")


def models_table() -> str:
    """The zoo's models: name, article, parameters, preprocessing (from the registry)."""
    zoo = _zoo()

    lines = [
        "| Model | Article | Parameters | Preprocessing |",
        "|---|---|--:|---|",
    ]
    for name in zoo.list_models():
        info = zoo.model_info(name)
        preprocessing = str(info.preprocessing).partition(": ")[0]
        lines.append(
            f"| `{name}` | {info.article} | {info.num_params:,} | {_cell(preprocessing)} |"
        )
    return "\n".join(lines)


def model_details_table() -> str:
    """Every model with its family, description, default recipe and smallest input."""
    zoo = _zoo()

    lines = [
        "| Model | Family | Description | Default recipe | Smallest input |",
        "|---|---|---|---|--:|",
    ]
    for name in zoo.list_models():
        info = zoo.model_info(name)
        lines.append(
            f"| `{name}` | {info.family} | {_cell(info.description)} | "
            f"`{info.default_recipe}` | {info.min_input_size}x{info.min_input_size} |"
        )
    return "\n".join(lines)


def articles_table() -> str:
    """The seed articles and the zoo names that implement each one."""
    zoo = _zoo()

    by_article: dict[str, list[str]] = {}
    for name in zoo.list_models():
        by_article.setdefault(zoo.model_info(name).article, []).append(f"`{name}`")
    lines = ["| Article | Subject | Zoo models |", "|---|---|---|"]
    for number, title in ARTICLES.items():
        lines.append(f"| {number} | {title} | {', '.join(by_article.get(number, []))} |")
    return "\n".join(lines)


def article_models_table(article: str) -> str:
    """The models of one seed article: name, parameters, preprocessing, default recipe."""
    zoo = _zoo()

    lines = ["| Model | Parameters | Preprocessing | Default recipe |", "|---|--:|---|---|"]
    for name in zoo.list_models():
        info = zoo.model_info(name)
        if info.article == article:
            preprocessing = str(info.preprocessing).partition(": ")[0]
            lines.append(
                f"| `{name}` | {info.num_params:,} | {_cell(preprocessing)} | "
                f"`{info.default_recipe}` |"
            )
    return "\n".join(lines)


TABLES: dict[str, Callable[[], str]] = {
    "models": models_table,
    "model-details": model_details_table,
    "articles": articles_table,
    **{f"article-{n}": functools.partial(article_models_table, n) for n in ARTICLES},
}
"""Table name (as written in the markers) -> function returning the Markdown table."""

_REGION = re.compile(
    r"(?P<start><!-- (?P<name>[a-z0-9_-]+)-table:start -->)\n"
    r".*?(?P<end><!-- (?P=name)-table:end -->)",
    re.DOTALL,
)


def render(markdown: str) -> str:
    """Returns ``markdown`` with every marked table region refilled.

    Raises:
        KeyError: If a marker names a table that :data:`TABLES` does not know.
    """
    cache: dict[str, str] = {}

    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in TABLES:
            raise KeyError(f"Unknown table {name!r} in markers; known: {sorted(TABLES)}")
        if name not in cache:
            cache[name] = TABLES[name]()
        return f"{match['start']}\n{cache[name]}\n{match['end']}"

    return _REGION.sub(fill, markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the tables in README.md.")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    parser.add_argument("path", nargs="?", type=Path, default=README, help="default: README.md")
    args = parser.parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    fresh = render(text)
    if fresh == text:
        return 0
    if args.check:
        print(f"{args.path} is stale: run `python docs/gen_tables.py`", file=sys.stderr)
        return 1
    args.path.write_text(fresh, encoding="utf-8")
    print(f"updated {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
