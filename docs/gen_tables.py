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

To add a table, write a function returning Markdown and add it to :data:`TABLES`; put its
markers where it should appear. The ``accuracy`` table comes from ``weights_manifest.json``,
``docs/targets.json`` and ``docs/untrained.json``; the ``benchmarks`` table from the JSON files
of ``benchmarks/throughput.py`` in ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import re
import shlex
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MANIFEST = ROOT / "weights_manifest.json"
TARGETS = ROOT / "docs" / "targets.json"
UNTRAINED = ROOT / "docs" / "untrained.json"

ARTICLES = {
    "000": "VGG16 with BatchNorm after every convolution",
    "001": "A simple CNN, a BatchNorm CNN and ResNet v1, without augmentation",
    "002": "VGG configurations A-E with BatchNorm, from scratch and from ImageNet",
    "003": "A six-convolution ELU CNN with augmentation and L2",
    "004": "A three-block VGG-lite without BatchNorm",
}
"""Short titles of the seed articles, by number."""

ZOO_ORIGIN = "zoo"
"""``ModelInfo.article`` of the zoo's own models, which come from no seed article."""


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
    if by_article.get(ZOO_ORIGIN):
        lines.append(
            "| - | The zoo's own fast model for time-to-94% training, see "
            f"[Models](models.md#the-zoos-fast-model) | {', '.join(by_article[ZOO_ORIGIN])} |"
        )
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


def _percent(fraction: float, decimals: int = 2) -> str:
    return f"{fraction * 100:.{decimals}f}%"


def _points(accuracy: float, target: float) -> float:
    # Accuracies on 10,000 images and the targets are whole hundredths of a point, so two
    # decimals print the difference exactly (round() only removes float noise).
    return round((accuracy - target) * 100, 6)


def _versus(accuracy: float, target: float) -> str:
    """``met (+1.23)`` or ``missed (-4.56)``: the difference in points, never rounded up."""
    delta = _points(accuracy, target)
    return f"met (+{delta:.2f})" if delta >= 0 else f"missed ({delta:.2f})"


def _tally(deltas: list[float]) -> str:
    """E.g. ``1 met, 7 missed (by 0.92 to 7.76 points)``."""
    missed = sorted(-d for d in deltas if d < 0)
    text = f"{len(deltas) - len(missed)} met, {len(missed)} missed"
    if missed:
        text += f" (by {missed[0]:.2f} to {missed[-1]:.2f} points)"
    return text


def _machine(entry: Any) -> str:
    m = entry.metrics
    return f"{m.hardware}, Keras {m.keras_version} on {m.backend}"


def _seeds(runs: Any) -> str:
    accs = [r.accuracy * 100 for r in runs]
    seeds = ", ".join(str(r.seed) for r in runs)
    spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
    # Three decimals: the mean of two accuracies on 10,000 images can end in 5.
    return f"seeds {seeds}: {statistics.fmean(accs):.3f} ± {spread:.3f}%"


def accuracy_table() -> str:
    """Published checkpoints from weights_manifest.json beside the zoo's accuracy targets.

    One row per checkpoint (and one per registry model without one, with the reason listed
    under the table from docs/untrained.json); targets come from docs/targets.json.
    """
    zoo = _zoo()
    from keras_cifar_zoo.weights.manifest import load_manifest

    manifest = load_manifest(MANIFEST)
    targets = json.loads(TARGETS.read_text(encoding="utf-8"))
    untrained = json.loads(UNTRAINED.read_text(encoding="utf-8"))
    # The data and the hardware most checkpoints share go into notes under the table.
    cifar10 = [e for e in manifest.entries if e.dataset == "cifar10"]
    data = collections.Counter(e.metrics.data for e in cifar10).most_common(1)
    common_data = data[0][0] if data else ""
    machines = collections.Counter(_machine(e) for e in cifar10).most_common(1)
    common_machine = machines[0][0] if machines else ""
    lines = [
        "| Model | Weights | Article | Parameters | Test accuracy | Article reports | "
        "vs article | Best published | vs best published | Epochs | Training time | Trained on |",
        "|---|---|---|--:|--:|--:|---|--:|---|--:|--:|---|",
    ]
    against: dict[str, list[float]] = {"article": [], "best": []}  # differences in points
    test_selected = jpeg_trained = False
    for name in zoo.list_models():
        info = zoo.model_info(name)
        article = targets["article"].get(name)
        best = targets["best_published"].get(name)
        article_text = article["text"] if article else "-"
        entries = manifest.for_model(name, "cifar10")
        if not entries:
            best_text = f"≥ {best['text']}" if best else "-"
            lines.append(
                f"| `{name}` | - | {info.article} | {info.num_params:,} | not yet trained (see "
                f"below) | {article_text} | - | {best_text} | - | - | - | - |"
            )
            continue
        for e in entries:
            m = e.metrics
            accuracy = _percent(m.accuracy)
            if m.seed_runs:
                accuracy += f" (seed {m.seed}); {_seeds(m.seed_runs)}"
            if m.data != common_data:
                accuracy += f" ({_cell(m.data)})"
            if e.recipe.settings.get("validation_is_test_set"):
                accuracy += " ²"
                test_selected = True
            if "JPEG q75 copy (every pixel" in m.training_data:
                accuracy += " ⁴"
                jpeg_trained = True
            vs_article = _versus(m.accuracy, article["accuracy"]) if article else "-"
            if article:
                against["article"].append(_points(m.accuracy, article["accuracy"]))
            best_text, vs_best = "-", "-"
            if best and e.tag == "improved":
                best_text = f"≥ {best['text']}"
                vs_best = _versus(m.accuracy, best["accuracy"])
                against["best"].append(_points(m.accuracy, best["accuracy"]))
            planned = e.recipe.settings.get("epochs")
            epochs = f"{m.epochs} of {planned}" if planned and planned != m.epochs else m.epochs
            weights = f"`{e.identifier}`" + (" (default)" if e.default else "")
            machine = "³" if _machine(e) == common_machine else _cell(_machine(e))
            lines.append(
                f"| `{name}` | {weights} | {info.article} | {e.num_params:,} | {accuracy} | "
                f"{article_text} | {vs_article} | {best_text} | {vs_best} | {epochs} | "
                f"{m.wall_time_s / 60:.1f} min | {machine} |"
            )
    notes = [
        "",
        f"¹ Measured by `keras_cifar_zoo.evaluate` through the published float16 files, on the "
        f"{common_data}; the weights of the last epoch of a "
        "fixed schedule unless marked ². A CI test reloads every checkpoint through the "
        "download path and fails if its accuracy moves by more than 0.1 point.",
    ]
    if test_selected:
        notes += [
            "",
            "² The recipe, like its article, validates on the test set and stops early on test "
            "accuracy, so when training stopped was decided on test data (the weights are the "
            "last epoch's).",
        ]
    if common_machine:
        notes += ["", f"³ {common_machine}."]
    if jpeg_trained:
        deltas = _copy_deltas()
        notes += [
            "",
            "⁴ Trained on the older JPEG q75 copy of the training set, measured on the lossless "
            f"copy; the same files measure {min(deltas):.2f} to {max(deltas):.2f} points less "
            "on the JPEG copy of the test set (the comparison of both copies is in the docs).",
        ]
    notes += [
        "",
        f"Article numbers: {_tally(against['article'])}. Best published numbers (improved "
        f"checkpoints): {_tally(against['best'])}. Differences are in percentage points. "
        "Training time is the wall time of the `fit_cifar10` call (for a run resumed across "
        "calls, the sum of its epoch times).",
        "",
        "Not yet trained:",
        "",
    ]
    notes += [f"- `{model}`: {reason}." for model, reason in sorted(untrained["models"].items())]
    notes += [
        f"- `{run['model']}` `cifar10:{run['tag']}`, {run['run']}: {run['reason']}."
        for run in untrained["runs"]
    ]
    lines[0] = lines[0].replace("Test accuracy", "Test accuracy ¹")
    return "\n".join(lines + notes)


def cifar100_table() -> str:
    """The published CIFAR-100 checkpoints, from weights_manifest.json."""
    from keras_cifar_zoo.weights.manifest import load_manifest

    entries = [e for e in load_manifest(MANIFEST).entries if e.dataset == "cifar100"]
    lines = [
        "| Model | Weights | Parameters | Test accuracy ¹ | Starts from | Trained on | Epochs | "
        "Training time | Hardware |",
        "|---|---|--:|--:|---|---|--:|--:|---|",
    ]
    for e in sorted(entries, key=lambda e: (e.model, e.tag)):
        m = e.metrics
        start = e.recipe.settings.get("initial_weights") or "random initialisation"
        start = f"`{start}` checkpoint" if start == "cifar10" else start
        weights = f"`{e.identifier}`" + (" (default)" if e.default else "")
        lines.append(
            f"| `{e.model}` | {weights} | {e.num_params:,} | {_percent(m.accuracy)} | {start} | "
            f"{_cell(m.training_data)} | {m.epochs} | {m.wall_time_s / 60:.1f} min | "
            f"{_cell(_machine(e))} |"
        )
    data = entries[0].metrics.data if entries else "CIFAR-100 test set"
    return "\n".join(
        [
            *lines,
            "",
            f"¹ Measured by `keras_cifar_zoo.evaluate` through the published float16 files on "
            f"the {data}; the last epoch of a fixed schedule. A CI test reloads every checkpoint "
            "through the download path and fails if its accuracy moves by more than 0.1 point.",
        ]
    )


def transfer_table() -> str:
    """Fine-tuning against training from scratch on CIFAR-100, from the benchmark's JSON."""
    reports = sorted(BENCHMARKS.glob("transfer-cifar100-*.json"))
    if not reports:
        return "No measurement yet: run the command above."
    report = json.loads(reports[-1].read_text(encoding="utf-8"))
    lines = [
        "| Model | Starts from | Test accuracy (mean ± std) | Runs (seed: accuracy) |",
        "|---|---|--:|---|",
    ]
    for key, stats in report["summary"].items():
        model, start = key.split("/")
        runs = [r for r in report["runs"] if (r["model"], r["start"]) == (model, start)]
        each = ", ".join(f"{r['seed']}: {_percent(r['test_accuracy'])}" for r in runs)
        origin = "CIFAR-10 checkpoint" if start == "cifar10" else "random initialisation"
        lines.append(
            f"| `{model}` | {origin} | {_percent(stats['mean'])} ± "
            f"{stats['std'] * 100:.2f} | {each} |"
        )
    return "\n".join(
        [
            *lines,
            "",
            f"{report['epochs']} epochs of the recipe `{report['recipe']['name']}` on the first "
            f"{report['train_images']:,} images of the {report['data']}; measured on the "
            f"{report['test_images']:,} CIFAR-100 test images. {report['device']}, Keras "
            f"{report['keras']} on {report['backend']}, {report['date']}.",
        ]
    )


BENCHMARKS = ROOT / "benchmarks" / "results"
"""Where ``benchmarks/throughput.py`` runs are kept (one JSON file per run)."""


def _versions(versions: dict[str, str]) -> str:
    names = {"keras": "Keras", "jax": "JAX", "jaxlib": "jaxlib", "tensorflow": "TensorFlow"}
    names |= {"torch": "PyTorch", "numpy": "NumPy", "keras-cifar-zoo": "keras-cifar-zoo"}
    return ", ".join(f"{names.get(k, k)} {v}" for k, v in versions.items())


def _command(command: str) -> str:
    """The command line of a run without its ``--note`` text (shown on its own)."""
    words = shlex.split(command)
    if "--note" in words:
        at = words.index("--note")
        words[at : at + 2] = []
    return shlex.join(words)


def benchmarks_table() -> str:
    """Every throughput run in benchmarks/results/: its machine and software, then per model
    and precision the speed, FLOPs, share of the measured peak and speed-up over the article.
    """
    runs = [
        (path, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(BENCHMARKS.glob("throughput-*.json"))
    ]
    runs.sort(key=lambda run: (run[1]["environment"]["date"], run[0].name))
    if not runs:
        return "No runs yet: `benchmarks/results/` holds no JSON file."
    lines = []
    if not any(run["environment"]["accelerators"] for _, run in runs):
        lines += [
            "**GPU: not yet measured.** Every run below is on a CPU; no run on a GPU has been "
            "recorded in `benchmarks/results/` yet.",
            "",
        ]
    for path, run in runs:
        env = run["environment"]
        peak = ", ".join(f"{k} {v['tflops']:.3f}" for k, v in run["peak"].items())
        settings = run["settings"]
        lines += [
            f"### {_cell(env['device'])}, {env['backend']}, {env['date'][:10]}",
            "",
            f"- File: `benchmarks/results/{path.name}`",
            f"- Hardware: {_cell(env['device'])}"
            + (f" (host CPU: {_cell(env['cpu'])})" if env["accelerators"] else ""),
            f"- Software: Keras backend `{env['backend']}`; {_versions(env['versions'])}; "
            f"Python {env['python']}; {_cell(env['platform'])}",
            f"- Date: {env['date']}; commit `{env['git_commit']}`",
            f"- Command: `{_command(env['command'])}`",
            f"- Settings: {settings['images']} images per epoch (rounded up to whole batches), "
            f"{settings['epochs']} epochs (the first, compiling, left out), "
            f"steps_per_execution {settings['steps_per_execution']}",
            f"- Measured matmul peak (TFLOP/s): {peak}",
        ]
        if env.get("note"):
            lines.append(f"- Note: {_cell(env['note'])}")
        lines += [
            "",
            "| Model | Precision | Batch | s/epoch (50k) | Train img/s | Inference img/s | "
            "GFLOPs/image (train step) | Achieved TFLOP/s | % of peak | vs article |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for r in run["results"]:
            if "error" in r:
                lines.append(
                    f"| `{r['model']}` | {r['precision']} | failed: {_cell(r['error'])} "
                    "| - | - | - | - | - | - | - |"
                )
                continue
            speedup = r["speedup_vs_article"]
            lines.append(
                f"| `{r['model']}` | {r['precision']} | {r['batch_size']} | "
                f"{r['seconds_per_50k_epoch']:,.1f} | {r['train_images_per_s']:,.0f} | "
                f"{r['inference_images_per_s']:,.0f} | {r['train_gflops_per_image']:.3f} | "
                f"{r['achieved_tflops']:.3f} | {r['percent_of_peak']:.1f} | "
                + (f"{speedup:.2f}x" if speedup is not None else "-")
                + " |"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def recipes_table() -> str:
    """Every training recipe: where it comes from, its optimizer, length and augmentation."""
    zoo = _zoo()

    lines = [
        "| Recipe | Article | Optimizer | Epochs | Batch | Augmentation | Description |",
        "|---|---|---|--:|--:|---|---|",
    ]
    for name in zoo.list_recipes():
        r = zoo.get_recipe(name)
        a = r.augmentation
        parts = ["flip"] if a.horizontal_flip else []
        if a.shift:
            kind = "whole-pixel" if a.integer_shift else "bilinear"
            parts.append(f"{a.shift:g} {kind} shifts ({a.fill_mode} fill)")
        if a.rotation_degrees:
            parts.append(f"rotation {a.rotation_degrees:g} deg")
        if a.cutout_size:
            parts.append(f"{a.cutout_size}x{a.cutout_size} cutout")
        article = "-" if r.article == ZOO_ORIGIN else r.article
        lines.append(
            f"| `{name}` | {article} | {r.optimizer} | {r.epochs} | {r.batch_size} | "
            f"{', '.join(parts) or 'none'} | {_cell(r.description)} |"
        )
    return "\n".join(lines)


def time_to_94_table() -> str:
    """Every ``benchmarks/time_to_94.py`` run in benchmarks/results/ (time-to-94-*.json): test
    accuracy and training time over its seeds, with the compilation apart."""
    runs = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(BENCHMARKS.glob("time-to-94-*.json"))
    ]
    if not runs:
        return (
            "**Not yet measured.** No run of `benchmarks/time_to_94.py` is recorded in "
            "`benchmarks/results/`: it needs a GPU (`resnet9`'s 24 epochs take about 3.4 hours "
            "on a 2-vCPU CPU). The command below measures it on a GPU machine."
        )
    lines = [
        "| Model | Recipe | Epochs | Precision | Device | Backend | Seeds | Test accuracy "
        "(mean ± std) | Min - max | Seeds ≥ target | Training s (mean ± std) | Compile s | "
        "Date |",
        "|---|---|--:|---|---|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    notes = []
    for run in sorted(runs, key=lambda r: (r["date"], r["model"])):
        acc, secs = run["accuracy"], run["training_s"]
        lines.append(
            f"| `{run['model']}` | {run['recipe']} | {run['epochs']} | {run['precision']} | "
            f"{_cell(run['device'])} | {run['backend']} | {len(run['seeds'])} | "
            f"{_percent(acc['mean'])} ± {acc['std'] * 100:.2f} | "
            f"{_percent(acc['min'])} - {_percent(acc['max'])} | "
            f"{run['reached_target']}/{len(run['seeds'])} (≥ {_percent(run['target'], 1)}) | "
            f"{secs['mean']:.1f} ± {secs['std']:.1f} | {run['compile_s']['mean']:.1f} | "
            f"{run['date']} |"
        )
        if not run["full_dataset"]:
            notes.append(
                f"- `{run['model']}` ({run['date']}): a quick check on {run['train_images']:,} "
                f"training and {run['test_images']:,} test images, not the full dataset."
            )
    data = sorted({run["data"] for run in runs})
    lines += ["", f"Data: {'; '.join(data)}. Final epoch, no selection on the test set."]
    return "\n".join(lines + notes)


COPIES_REPORT = BENCHMARKS / "published-lossless-vs-jpeg.json"
"""Every published checkpoint measured on both copies (``scripts/measure_published.py``)."""


def _copy_deltas() -> list[float]:
    """Lossless minus JPEG-copy accuracy of each checkpoint in the report, in points."""
    report = json.loads(COPIES_REPORT.read_text(encoding="utf-8"))
    return [
        round((r["results"]["lossless"]["accuracy"] - r["results"]["jpeg"]["accuracy"]) * 100, 6)
        for r in report["checkpoints"]
    ]


def copies_table() -> str:
    """Every published checkpoint on the lossless and the JPEG q75 copy of the test set."""
    report = json.loads(COPIES_REPORT.read_text(encoding="utf-8"))
    lines = [
        "| Model | Weights | Lossless copy | JPEG q75 copy | Difference (points) |",
        "|---|---|--:|--:|--:|",
    ]
    deltas = _copy_deltas()
    for row, delta in zip(report["checkpoints"], deltas, strict=True):
        lossless = row["results"]["lossless"]["accuracy"]
        jpeg = row["results"]["jpeg"]["accuracy"]
        lines.append(
            f"| `{row['model']}` | `{row['weights']}` | {_percent(lossless)} | {_percent(jpeg)} | "
            f"{delta:+.2f} |"
        )
    copies = report["copies"]
    lines += [
        "",
        f"Measured on {report['date']} by `scripts/measure_published.py` through the published "
        f"float16 files with `keras_cifar_zoo.evaluate` (Keras {report['keras_version']} on "
        f"{report['backend']}, {report['hardware']}): lossless = {copies['lossless']}; "
        f"JPEG = {copies['jpeg']}. "
        f"Every checkpoint here was trained on the JPEG copy, and each measures "
        f"{min(deltas):.2f} to {max(deltas):.2f} points more on the official pixels.",
    ]
    return "\n".join(lines)


TABLES: dict[str, Callable[[], str]] = {
    "copies": copies_table,
    "models": models_table,
    "model-details": model_details_table,
    "articles": articles_table,
    "accuracy": accuracy_table,
    "benchmarks": benchmarks_table,
    "time-to-94": time_to_94_table,
    "cifar100": cifar100_table,
    "transfer": transfer_table,
    "recipes": recipes_table,
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
