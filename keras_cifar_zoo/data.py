"""CIFAR-10 loading from the official python layout, without trusting what is on disk.

``keras.datasets.cifar10.load_data`` cannot be fed offline (it ignores an extracted folder and
checks only its own archive), so the batches are read here, from a folder or the archive,
through an unpickler that refuses anything but plain data and NumPy arrays.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import tarfile
import zlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from keras_cifar_zoo.errors import (
    CorruptDatasetError,
    DatasetNotFoundError,
    InvalidArgumentError,
    InvalidTypeError,
)

logger = logging.getLogger(__name__)

CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
DATA_ENV = "KERAS_CIFAR_ZOO_DATA"
BATCHES_DIR = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"

Split = tuple[np.ndarray, np.ndarray]

# The copies of CIFAR-10 this project knows, keyed by the first words of the SOURCE.txt their
# builder writes beside the batches, with how many images of each split are not the official
# pixels; the manifest's ``data`` and ``training_data`` fields use these descriptions.
COPIES = {
    "lossless": (
        "CIFAR-10, official train/test split and order: 59,903 of the 60,000 images",
        "lossless copy: official pixels, split and order ({filled} of the {total:,} images "
        "filled in from a JPEG q75 copy)",
        {"train": 77, "test": 20},
    ),
    "jpeg_q75": (
        "CIFAR-10 rebuilt from a JPEG (quality 75) copy",
        "JPEG q75 copy (every pixel differs slightly from the official release)",
        {"train": 50_000, "test": 10_000},
    ),
}
SPLITS = {"train": ("training set", 50_000), "test": ("test set", 10_000)}
SOURCE_FILE = "SOURCE.txt"


class _DataUnpickler(pickle.Unpickler):
    """Unpickles dicts of bytes/str/int/lists and NumPy arrays; refuses any other class."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _parse_batch(raw: bytes, source: str) -> Split:
    try:
        batch = _DataUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # truncated, not a pickle, or a refused class
        raise CorruptDatasetError(
            f"Cannot read CIFAR-10 batch {source}: {exc}. The file is truncated or not a "
            "CIFAR-10 python batch; delete it and fetch the dataset again."
        ) from exc
    if not isinstance(batch, dict):
        raise CorruptDatasetError(f"CIFAR-10 batch {source} is not a dict of data and labels.")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise CorruptDatasetError(
            f"CIFAR-10 batch {source} lacks 'data' or 'labels'. Received keys: {sorted(batch)}"
        )
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise CorruptDatasetError(
            f"CIFAR-10 batch {source} must hold uint8 data of shape (N, 3072). "
            f"Received: shape={data.shape}, dtype={data.dtype}"
        )
    if labels.shape != (data.shape[0],) or (labels.size and labels.dtype.kind not in "iu"):
        raise CorruptDatasetError(
            f"CIFAR-10 batch {source} must hold {data.shape[0]} integer labels, one per image. "
            f"Received: labels shape={labels.shape}, dtype={labels.dtype}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise CorruptDatasetError(
            f"CIFAR-10 batch {source} has labels outside 0-9. "
            f"Received: min={labels.min()}, max={labels.max()}"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _read_folder(folder: Path) -> tuple[Split, Split]:
    def read(name: str) -> Split:
        path = folder / name
        if not path.is_file():
            raise CorruptDatasetError(
                f"{folder} is missing {name}; a CIFAR-10 folder holds {', '.join(TRAIN_BATCHES)} "
                f"and {TEST_BATCH}."
            )
        return _parse_batch(path.read_bytes(), str(path))

    return _join([read(n) for n in TRAIN_BATCHES]), read(TEST_BATCH)


def _read_archive(archive: Path) -> tuple[Split, Split]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            missing = [n for n in (*TRAIN_BATCHES, TEST_BATCH) if n not in members]
            if missing:
                raise CorruptDatasetError(f"{archive} lacks {', '.join(missing)}.")

            def read(name: str) -> Split:
                handle = tar.extractfile(members[name])
                assert handle is not None  # members are regular files
                return _parse_batch(handle.read(), f"{archive}:{name}")

            return _join([read(n) for n in TRAIN_BATCHES]), read(TEST_BATCH)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise CorruptDatasetError(
            f"Cannot read {archive}: {exc}. The archive is truncated or corrupt; delete it and "
            "fetch it again."
        ) from exc


def _join(splits: list[Split]) -> Split:
    return np.concatenate([s[0] for s in splits]), np.concatenate([s[1] for s in splits])


def _find_in(folder: Path) -> Path | None:
    """Returns the batches folder or archive inside ``folder`` (or ``folder`` itself)."""
    for candidate in (folder / BATCHES_DIR, folder):
        if (candidate / TEST_BATCH).is_file():
            return candidate
    for name in (ARCHIVE, "cifar-10-batches-py.tar.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def identify_copy(data_dir: str | os.PathLike) -> str:
    """Names the CIFAR-10 copy in a folder: ``"lossless"``, ``"jpeg_q75"`` or ``"unlabelled"``.

    The copies built for this project carry a ``SOURCE.txt`` saying what they are; the official
    release, which reads the same way, carries none and is ``"unlabelled"``.

    Raises:
        DatasetNotFoundError: If the folder holds no CIFAR-10 batches.
    """
    folder = Path(data_dir).expanduser()
    found = _find_in(folder)
    if found is None:
        raise DatasetNotFoundError(
            f"No CIFAR-10 in {folder}: expected {folder}/{BATCHES_DIR}/ (data_batch_1..5, "
            f"test_batch) or {folder}/{ARCHIVE}. Received: data_dir={str(data_dir)!r}"
        )
    if not found.is_dir():
        return "unlabelled"  # an archive, as the official release ships
    source = found / SOURCE_FILE
    text = source.read_text(encoding="utf-8", errors="replace") if source.is_file() else ""
    for name, (first_words, _, _) in COPIES.items():
        if text.startswith(first_words):
            return name
    return "unlabelled"


def describe_copy(data_dir: str | os.PathLike, split: str = "test") -> str:
    """How a number measured (or a model trained) on ``data_dir`` names its data, e.g.
    ``"CIFAR-10 test set (10,000 images), lossless copy: ..."`` (the manifest's ``data``)."""
    if split not in SPLITS:
        raise InvalidArgumentError(f"split must be 'train' or 'test'. Received: split={split!r}")
    name, total = SPLITS[split]
    copy = identify_copy(data_dir)
    if copy in COPIES:
        _, label, filled = COPIES[copy]
        label = label.format(filled=filled[split], total=total)
    else:
        label = "from a folder without SOURCE.txt, as the official release is"
    return f"CIFAR-10 {name} ({total:,} images), {label}"


def _check_folder(folder: Path, origin: str, value: Any) -> None:
    """Refuses a ``data_dir`` or ``KERAS_CIFAR_ZOO_DATA`` that is a file or does not exist."""
    if folder.is_dir():
        return
    fix = f"or unset {DATA_ENV}" if origin == DATA_ENV else "(--data-dir on the command line)"
    if folder.exists():
        parent = f" (pass its folder, {folder.parent})" if folder.name == ARCHIVE else ""
        state = f"is a file, not a folder{parent}"
    else:
        state = "does not exist"
    raise DatasetNotFoundError(
        f"No CIFAR-10 in {folder}: the path {state}. {origin} must name a folder holding "
        f"{BATCHES_DIR}/ (data_batch_1..5, test_batch) or {ARCHIVE}; point it at one {fix}. "
        f"Received: {origin}={str(value)!r}"
    )


def _keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def load_cifar10(
    data_dir: str | os.PathLike | None = None, *, download: bool = True
) -> tuple[Split, Split]:
    """Loads CIFAR-10 as uint8 images (N, 32, 32, 3) and int64 labels (N,).

    Looks, in order, in ``data_dir``, in the folder named by ``KERAS_CIFAR_ZOO_DATA``, in
    Keras's dataset cache (``~/.keras/datasets``), and only then downloads through
    ``keras.datasets.cifar10``. A folder may hold ``cifar-10-batches-py/`` (the official python
    layout) or ``cifar-10-python.tar.gz``.

    Args:
        data_dir: A folder holding the dataset. If given, it must hold it.
        download: If False, never download; raise instead.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``.

    Raises:
        InvalidTypeError: If ``data_dir`` is not a path or ``download`` not a bool.
        DatasetNotFoundError: If no copy is found and downloading is off or fails, or if
            ``data_dir`` or ``KERAS_CIFAR_ZOO_DATA`` names a file or a missing folder.
        CorruptDatasetError: If a file is truncated, malformed or has labels outside 0-9.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_cifar10()
        >>> x_test.shape
        (10000, 32, 32, 3)
    """
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise InvalidTypeError(
            f"data_dir must be the path (a str or os.PathLike) of a folder holding {BATCHES_DIR}/ "
            f"or {ARCHIVE}, or None. Received: data_dir={data_dir!r}"
        )
    if not isinstance(download, bool):
        raise InvalidTypeError(f"download must be True or False. Received: download={download!r}")
    looked = []
    env = os.environ.get(DATA_ENV)
    for origin, folder in (("data_dir", data_dir), (DATA_ENV, env), ("Keras cache", None)):
        if origin == "Keras cache":
            folder = _keras_cache()
        if not folder:
            continue
        folder = Path(folder).expanduser()
        if origin != "Keras cache":
            _check_folder(folder, origin, data_dir if origin == "data_dir" else env)
        found = _find_in(folder)
        looked.append(f"{origin}={folder}")
        if found is None:
            if origin == "data_dir":
                raise DatasetNotFoundError(
                    f"No CIFAR-10 in {folder}: expected {folder}/{BATCHES_DIR}/ (data_batch_1..5, "
                    f"test_batch) or {folder}/{ARCHIVE}. Received: data_dir={str(data_dir)!r}"
                )
            continue
        logger.info("Reading CIFAR-10 from %s", found)
        return _read_folder(found) if found.is_dir() else _read_archive(found)

    if download:
        try:
            import keras

            (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
            return (x_train, y_train.reshape(-1).astype(np.int64)), (
                x_test,
                y_test.reshape(-1).astype(np.int64),
            )
        except Exception as exc:  # no network, blocked host, bad archive
            looked.append(f"download failed: {exc}")
    raise DatasetNotFoundError(
        f"CIFAR-10 not found ({'; '.join(looked)}). Set {DATA_ENV} to a folder holding "
        f"{BATCHES_DIR}/ (data_batch_1..5, test_batch) or {ARCHIVE}, or pass data_dir=."
    )
