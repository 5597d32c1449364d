"""Measure every published checkpoint on one or more CIFAR-10 copies, through its published file.

Each manifest entry is loaded with ``load_model(name, weights="cifar10:<tag>", hub_dir=HUB)``
(the sha256 checks included) and measured with the package's ``evaluate`` on the 10,000 test
images of each ``--data LABEL=DIR`` folder. The result is one JSON file (the docs render it as
the lossless-versus-JPEG table). ``--update-manifest`` then writes the ``lossless`` copy's
accuracy, loss and test-set description into ``weights_manifest.json`` (and the model cards
in ``hub/``); the other copies' numbers stay in the report. With ``--from-json`` it applies an
earlier report without measuring.

    python scripts/measure_published.py --data lossless=.data/lossless \
        --data jpeg=.data/jpeg --json benchmarks/results/published-lossless-vs-jpeg.json \
        --update-manifest
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", type=Path, default=ROOT / "hub")
    parser.add_argument("--manifest", type=Path, default=ROOT / "weights_manifest.json")
    parser.add_argument("--data", action="append", default=[], metavar="LABEL=DIR")
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--update-manifest", action="store_true")
    parser.add_argument("--from-json", action="store_true", help="apply --json, measure nothing")
    parser.add_argument("--models", nargs="*", help="only these models (default: all)")
    args = parser.parse_args()
    if args.from_json:
        report = json.loads(args.json.read_text(encoding="utf-8"))
    else:
        report = measure(args)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.update_manifest:
        update_manifest(args.manifest, report)


def measure(args: argparse.Namespace) -> dict:
    import keras

    from keras_cifar_zoo import evaluate, load_cifar10, load_model
    from keras_cifar_zoo.data import describe_copy
    from keras_cifar_zoo.weights.manifest import load_manifest

    copies = dict(item.split("=", 1) for item in args.data)
    tests = {label: load_cifar10(folder)[1] for label, folder in copies.items()}
    described = {label: describe_copy(folder) for label, folder in copies.items()}
    manifest = load_manifest(args.manifest)
    rows = []
    for entry in manifest.entries:
        if args.models and entry.model not in args.models:
            continue
        model = load_model(
            entry.model, weights=entry.identifier, hub_dir=args.hub, manifest=args.manifest
        )
        row = {"model": entry.model, "weights": entry.identifier, "results": {}}
        for label, test in tests.items():
            start = time.time()
            result = evaluate(model, data=test, batch_size=256)
            row["results"][label] = {
                "accuracy": result["accuracy"],
                "loss": result["loss"],
                "num_images": result["num_images"],
            }
            print(
                f"{entry.model:22s} {entry.identifier:18s} {label:9s} "
                f"{result['accuracy']:.4f} ({time.time() - start:.0f} s)",
                flush=True,
            )
        rows.append(row)
        keras.backend.clear_session()

    return {
        "description": "Every published checkpoint measured through its published file with "
        "keras_cifar_zoo.evaluate on the 10,000 CIFAR-10 test images of each copy.",
        "copies": described,
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "checkpoints": rows,
    }


def update_manifest(path: Path, report: dict) -> None:
    """Writes the lossless copy's numbers into the manifest, the JPEG copy's beside them."""
    from keras_cifar_zoo.weights.manifest import dumps, parse_manifest

    raw = json.loads(path.read_text(encoding="utf-8"))
    measured = {(r["model"], r["weights"]): r["results"] for r in report["checkpoints"]}
    for item in raw["checkpoints"]:
        results = measured.get((item["model"], f"cifar10:{item['tag']}"))
        if results is None:
            continue
        metrics = item["metrics"]
        lossless = results["lossless"]
        metrics["accuracy"] = round(lossless["accuracy"], 6)
        metrics["loss"] = lossless["loss"]
        metrics["data"] = report["copies"]["lossless"]
        metrics["num_images"] = lossless["num_images"]
    parse_manifest(raw, source=str(path))  # never write a manifest that breaks the schema
    path.write_text(dumps(raw), encoding="utf-8")
    if path.resolve() == (ROOT / "weights_manifest.json").resolve():
        from keras_cifar_zoo.publish import refresh_model_cards

        refresh_model_cards(ROOT)  # the model cards show the manifest's numbers


if __name__ == "__main__":
    main()
