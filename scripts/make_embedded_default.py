"""Build the embedded default the wheel ships: one published checkpoint and test images.

Writes ``keras_cifar_zoo/embedded/``, read by ``keras-cifar-zoo demo``:

- the published checkpoint with the most accuracy per byte (manifest accuracy divided by the
  size of its files), copied byte for byte from ``hub/<repo_id>/``;
- ``cifar10_test_sample.npz``: the first ``--per-class`` images of each class in the CIFAR-10
  test set of the given data folder (the lossless copy), ordered by class then position, with
  their labels and positions in the test set; images the copy lists in ``jpeg_filled.json``
  (filled in from a JPEG copy, not the official pixels) are left out;
- ``embedded.json``: which checkpoint it is (model, tag, file, sha256, the preprocessing it
  was trained with) and what the sample holds. The demo reads the checkpoint's whole-test-set
  accuracy from the weights manifest.

    python scripts/make_embedded_default.py --data-dir .data
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "keras_cifar_zoo" / "embedded")
    args = parser.parse_args()

    from keras_cifar_zoo import CLASS_NAMES, load_cifar10
    from keras_cifar_zoo.data import BATCHES_DIR, identify_copy
    from keras_cifar_zoo.weights.hub import file_hash
    from keras_cifar_zoo.weights.manifest import load_manifest

    manifest = load_manifest(ROOT / "weights_manifest.json")
    ranked = sorted(
        (e for e in manifest.entries if e.dataset == "cifar10"),  # the demo classifies CIFAR-10
        key=lambda e: e.metrics.accuracy / sum(f.size for f in e.files),
        reverse=True,
    )
    for e in ranked:
        size = sum(f.size for f in e.files)
        print(
            f"{e.model:<20} {e.identifier:<17} {e.metrics.accuracy:.4f} {size:>11,} bytes "
            f"{e.metrics.accuracy / size * 1e6:.4f} per MB"
        )
    entry = ranked[0]
    if len(entry.files) != 1:
        raise SystemExit(f"{entry.model} is sharded; the embedded default must be one file")
    (record,) = entry.files
    source = ROOT / "hub" / entry.repo_id / record.name
    if file_hash(source) != record.sha256:
        raise SystemExit(f"{source} does not match the manifest")

    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.weights.h5"):
        old.unlink()
    weights_name = f"{entry.model}.weights.h5"
    shutil.copyfile(source, args.out / weights_name)

    if identify_copy(args.data_dir) != "lossless":
        raise SystemExit(f"{args.data_dir} does not hold the lossless copy (its SOURCE.txt)")
    _, (images, labels) = load_cifar10(args.data_dir)
    filled_file = args.data_dir / BATCHES_DIR / "jpeg_filled.json"
    filled = set(json.loads(filled_file.read_text(encoding="utf-8"))["test"])
    official = np.array([i not in filled for i in range(len(labels))])
    picked = np.concatenate(
        [
            np.flatnonzero((labels == c) & official)[: args.per_class]
            for c in range(len(CLASS_NAMES))
        ]
    )
    np.savez_compressed(
        args.out / "cifar10_test_sample.npz",
        images=images[picked],
        labels=labels[picked].astype(np.uint8),
        indices=picked.astype(np.int32),
    )
    description = {
        "model": entry.model,
        "tag": entry.tag,
        "weights": weights_name,
        "sha256": record.sha256,
        "size": record.size,
        "repo_id": entry.repo_id,
        "preprocessing": entry.preprocessing.to_config(),
        "why": "the published checkpoint with the most test accuracy per byte",
        "sample": {
            "file": "cifar10_test_sample.npz",
            "arrays": "images (N, 32, 32, 3) uint8 RGB, labels (N,) uint8, indices (N,) int32 "
            "(positions in the test set)",
            "num_images": len(picked),
            "selection": f"the first {args.per_class} of each class, in class order",
            "data": "CIFAR-10 test set, official pixels (lossless copy; the images filled in "
            "from a JPEG copy are left out)",
        },
    }
    (args.out / "embedded.json").write_text(json.dumps(description, indent=2) + "\n")
    print(f"embedded {entry.model} {entry.identifier} and {len(picked)} images in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
