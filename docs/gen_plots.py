"""Plots for the documentation, drawn from weights_manifest.json and docs/targets.json.

- ``accuracy-vs-parameters.png``: every published CIFAR-10 checkpoint's test accuracy against
  the model's parameter count, beside the number its article reports and the best published
  number for its family.
- ``accuracy-vs-cpu-hours.png``: every checkpoint trained on a CPU, test accuracy against the
  training wall time in hours.

Usage::

    python docs/gen_plots.py              # rewrite both PNG files in docs/img/
    python docs/gen_plots.py --out DIR    # write them into DIR instead

The mkdocs hook (``docs/hooks.py``) draws them again into the built site, so the site always
shows the manifest it was built from; the copies in docs/img/ are what the Markdown sources
show elsewhere. Needs matplotlib (the ``plots`` or ``docs`` extra).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

IMG = Path(__file__).resolve().parent / "img"

_spec = importlib.util.spec_from_file_location(
    "keras_cifar_zoo_docs_gen_tables", Path(__file__).with_name("gen_tables.py")
)
gen_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_tables)

CHECKPOINT = {"marker": "o", "s": 46, "color": "#1f5fa8", "zorder": 3}
ARTICLE = {"marker": "o", "s": 46, "facecolors": "none", "edgecolors": "#d0661c", "zorder": 2}
BEST = {"marker": "^", "s": 46, "facecolors": "none", "edgecolors": "#3a8a3a", "zorder": 2}
OTHER_DATASET = {"marker": "s", "s": 46, "color": "#8a4fa8", "zorder": 3}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def _targets_beside(ax: Any, x: float, model: str, accuracy: float, targets: dict) -> None:
    """The article's number and the family's best at ``x``, joined to the checkpoint's point."""
    for key, style in (("article", ARTICLE), ("best_published", BEST)):
        target = targets[key].get(model)
        if target:
            ax.scatter([x], [target["accuracy"] * 100], **style)
            ax.plot([x, x], [accuracy, target["accuracy"] * 100], color="#bbbbbb", lw=0.8)


def _labels(fig: Any, ax: Any, points: list[tuple[float, float]], texts: list[str]) -> list[Any]:
    """Writes each text beside its point, right of it if there is room, else left, moved up or
    down until it overlaps no other text, no marker and the legend and stays inside the axes.
    A text moved off its point's height gets a thin leader line in the checkpoints' colour.
    Returns the texts' window extents."""
    from matplotlib.transforms import Bbox

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    markers = [xy for c in ax.collections for xy in c.get_offsets()]
    taken = [
        Bbox.from_extents(x - 6, y - 6, x + 6, y + 6)
        for x, y in ax.transData.transform(markers)
    ]  # fmt: skip
    if ax.get_legend() is not None:
        taken.append(ax.get_legend().get_window_extent(renderer))
    steps = [0.0] + [sign * k * 0.75 for k in range(1, 25) for sign in (-1, 1)]
    sides = ((6, "left"), (-6, "right"))  # right of the point first, then left, step by step
    placed = []
    for i in sorted(range(len(points)), key=lambda i: -points[i][1]):
        label = ax.annotate(texts[i], points[i], xytext=(6, 0), textcoords="offset points",
                            fontsize=7.5, va="center")  # fmt: skip
        height = label.get_window_extent(renderer).height * 72 / fig.dpi
        best = None  # (overlap area, offset, alignment, box): the least-covered position
        for step, (dx, align) in ((step, side) for step in steps for side in sides):
            label.set_ha(align)
            label.xyann = (dx, step * height)
            box = label.get_window_extent(renderer)
            outside = box.width * box.height - _area(box, frame)
            cover = outside + sum(_area(box, other) for other in taken)
            if best is None or cover < best[0]:
                best = (cover, (dx, step * height), align, box)
            if cover == 0:
                break
        _, offset, align, box = best
        label.remove()
        leader = None
        if abs(offset[1]) > height / 2:  # moved off its point's height: show whose it is
            leader = {"arrowstyle": "-", "lw": 0.6, "color": CHECKPOINT["color"], "shrinkA": 0,
                      "shrinkB": 3, "relpos": (0.0 if align == "left" else 1.0, 0.5)}  # fmt: skip
        ax.annotate(texts[i], points[i], xytext=offset, textcoords="offset points",
                    fontsize=7.5, va="center", ha=align, arrowprops=leader)  # fmt: skip
        taken.append(box)
        placed.append(box)
    return placed


def _area(a: Any, b: Any) -> float:
    """The area two window extents share."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0.0) * max(height, 0.0)


def _apart(xs: list[float], models: list[str], factor: float = 1.08) -> list[float]:
    """Moves apart, by a few percent on the log axis, different models drawn at one x."""
    moved = list(xs)
    for x in set(xs):
        names = sorted({m for m, v in zip(models, xs, strict=True) if v == x})
        for k, name in enumerate(names):
            shift = factor ** (k - (len(names) - 1) / 2)
            for i, (m, v) in enumerate(zip(models, xs, strict=True)):
                if v == x and m == name:
                    moved[i] = x * shift
    return moved


def _legend(ax: Any, plt: Any, extra: list[tuple[dict, str]] = ()) -> None:
    handles = [
        (CHECKPOINT, "published checkpoint (test accuracy)"),
        *extra,
        (ARTICLE, "the article's number"),
        (BEST, "best published for the family"),
    ]
    ax.legend(
        [plt.scatter([], [], **style) for style, _ in handles],
        [text for _, text in handles],
        loc="lower right",
        fontsize=8,
        frameon=True,
    )


def accuracy_vs_parameters(path: Path) -> Path:
    """Test accuracy against parameters for every published CIFAR-10 checkpoint."""
    plt = _pyplot()
    targets = gen_tables._targets()
    entries = gen_tables._checkpoints(gen_tables._manifest())
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    xs = _apart([float(e.num_params) for e in entries], [e.model for e in entries])
    points = [(x, e.metrics.accuracy * 100) for x, e in zip(xs, entries, strict=True)]
    for e, (x, y) in zip(entries, points, strict=True):
        _targets_beside(ax, x, e.model, y, targets)
        ax.scatter([x], [y], **CHECKPOINT)
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("CIFAR-10 test accuracy (%)")
    ax.set_title("Published checkpoints beside the articles' numbers")
    ax.grid(True, which="major", alpha=0.3)
    left, right = ax.get_xlim()
    ax.set_xlim(left, right * 4)  # room for the labels of the largest models
    _legend(ax, plt)
    fig.tight_layout()
    _labels(fig, ax, points, [f"{e.model} ({e.tag})" for e in entries])
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def accuracy_vs_cpu_hours(path: Path) -> Path:
    """Test accuracy against training wall time for every checkpoint trained on a CPU."""
    plt = _pyplot()
    targets = gen_tables._targets()
    entries = [
        e
        for e in gen_tables._checkpoints(gen_tables._manifest(), None)
        if gen_tables._device(e) == "CPU" and e.metrics.wall_time_s
    ]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    if not entries:
        ax.text(0.5, 0.5, "No published checkpoint was trained on a CPU yet.", ha="center",
                transform=ax.transAxes)  # fmt: skip
    points = [(e.metrics.wall_time_s / 3600, e.metrics.accuracy * 100) for e in entries]
    others = set()
    for e, (x, y) in zip(entries, points, strict=True):
        if e.dataset == "cifar10":
            _targets_beside(ax, x, e.model, y, targets)
            ax.scatter([x], [y], **CHECKPOINT)
        else:
            others.add(e.dataset)
            ax.scatter([x], [y], **OTHER_DATASET)
    if entries:
        ax.set_xscale("log")
        left, right = ax.get_xlim()
        ax.set_xlim(left, right * 3)
    ax.set_xlabel("training wall time on a CPU (hours)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Checkpoints trained on a CPU")
    ax.grid(True, which="major", alpha=0.3)
    from keras_cifar_zoo.weights.manifest import DATASET_LABELS

    names = ", ".join(DATASET_LABELS.get(d, d) for d in sorted(others))
    extra = [(OTHER_DATASET, f"{names} checkpoint (no targets)")] if others else []
    _legend(ax, plt, extra)
    fig.tight_layout()
    _labels(fig, ax, points, [f"{e.model} ({e.identifier})" for e in entries])
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


PLOTS: dict[str, Callable[[Path], Path]] = {
    "accuracy-vs-parameters.png": accuracy_vs_parameters,
    "accuracy-vs-cpu-hours.png": accuracy_vs_cpu_hours,
}
"""File name -> the function drawing it."""


def write_all(folder: Path) -> list[Path]:
    """Draws every plot of :data:`PLOTS` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return [draw(folder / name) for name, draw in PLOTS.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw the documentation's plots.")
    parser.add_argument("--out", type=Path, default=IMG, help="folder (default: docs/img)")
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
