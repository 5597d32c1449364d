"""CIFAR-10 and CIFAR-100 loading from the official python layouts, without trusting what is
on disk.

``keras.datasets.cifar10.load_data`` (and ``cifar100``) cannot be fed offline (they ignore an
extracted folder and check only their own archive), so the files are read here, from a folder
or the archive, through an unpickler that refuses anything but plain data and NumPy arrays.
Both datasets follow one set of rules; what differs is a small :class:`_Dataset` record.
:func:`read_images` (and the public :func:`load_images`) reads image files (upright, 8-bit RGB)
as a model takes them, and :func:`decode_predictions` names the classes a model predicts.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import pickle
import tarfile
import zlib
from collections.abc import Mapping, Sequence
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
# The official CIFAR-100 names, in the order of the release's ``meta`` file (label i is name i).
# fmt: off
CIFAR100_FINE_NAMES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup",
    "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house",
    "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man",
    "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid",
    "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy",
    "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal",
    "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar",
    "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman",
    "worm",
)
CIFAR100_COARSE_NAMES = (
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
    "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
)
# fmt: on
DATA_ENV = "KERAS_CIFAR_ZOO_DATA"
BATCHES_DIR = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CIFAR100_DIR = "cifar-100-python"
CIFAR100_ARCHIVE = "cifar-100-python.tar.gz"
CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"

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
# The same for CIFAR-100; its names carry a prefix so that code asking for the "lossless"
# CIFAR-10 copy (and its jpeg_filled.json) never mistakes a CIFAR-100 folder for it.
CIFAR100_COPIES = {
    "cifar100_lossless": (
        "CIFAR-100, official train/test split and order, all 60,000 images bit-exact",
        "lossless copy: official pixels, split and order",
        {"train": 0, "test": 0},
    ),
}
SPLITS = {"train": ("training set", 50_000), "test": ("test set", 10_000)}
SOURCE_FILE = "SOURCE.txt"


@dataclasses.dataclass(frozen=True)
class _Dataset:
    """What tells CIFAR-10 and CIFAR-100 apart on disk; everything else is shared."""

    title: str  # in messages: "No CIFAR-10 in ..."
    folder: str  # the official python layout's folder
    archives: tuple[str, ...]  # the official archive first, then other names it goes by
    train_files: tuple[str, ...]
    test_file: str
    layout: str  # the folder's files, as messages list them
    label_keys: Mapping[str, tuple[str, int]]  # label_mode -> (label key, number of classes)
    counts: Mapping[str, int] | None  # images per split, checked when set
    keras_dataset: str  # the keras.datasets module that downloads it
    copies: Mapping[str, tuple[str, str, Mapping[str, int]]]
    unlabelled: str  # identify_copy's name for a copy without SOURCE.txt
    fetch_hint: str = ""  # appended to "not found" messages


# CIFAR-10's image counts go unchecked: the project's tests (and users' quick runs) feed it
# small folders in the official layout.
_CIFAR10 = _Dataset(
    title="CIFAR-10",
    folder=BATCHES_DIR,
    archives=(ARCHIVE, "cifar-10-batches-py.tar.gz"),
    train_files=TRAIN_BATCHES,
    test_file=TEST_BATCH,
    layout="data_batch_1..5, test_batch",
    label_keys={"": ("labels", 10)},
    counts=None,
    keras_dataset="cifar10",
    copies=COPIES,
    unlabelled="unlabelled",
)
_CIFAR100 = _Dataset(
    title="CIFAR-100",
    folder=CIFAR100_DIR,
    archives=(CIFAR100_ARCHIVE,),
    train_files=("train",),
    test_file="test",
    layout="train, test, meta",
    label_keys={"fine": ("fine_labels", 100), "coarse": ("coarse_labels", 20)},
    counts={"train": 50_000, "test": 10_000},
    keras_dataset="cifar100",
    copies=CIFAR100_COPIES,
    unlabelled="cifar100_unlabelled",
    fetch_hint=f" Download the official archive ({CIFAR100_URL}) into such a folder.",
)
_DATASETS = {"cifar10": _CIFAR10, "cifar100": _CIFAR100}


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


def _parse_batch(raw: bytes, source: str, spec: _Dataset, label_mode: str) -> Split:
    title = spec.title
    key, num_classes = spec.label_keys[label_mode]
    try:
        batch = _DataUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # truncated, not a pickle, or a refused class
        raise CorruptDatasetError(
            f"Cannot read {title} batch {source}: {exc}. The file is truncated or not a "
            f"{title} python batch; delete it and fetch the dataset again."
        ) from exc
    if not isinstance(batch, dict):
        raise CorruptDatasetError(f"{title} batch {source} is not a dict of data and labels.")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or key not in batch:
        raise CorruptDatasetError(
            f"{title} batch {source} lacks 'data' or '{key}'. Received keys: {sorted(batch)}"
        )
    data = np.asarray(batch["data"])
    labels = np.asarray(batch[key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise CorruptDatasetError(
            f"{title} batch {source} must hold uint8 data of shape (N, 3072). "
            f"Received: shape={data.shape}, dtype={data.dtype}"
        )
    if not len(data):  # left alone, evaluate would blame its own data argument for it
        raise CorruptDatasetError(
            f"{title} batch {source} holds no images; every batch of the release holds "
            f"thousands. Delete it and fetch the dataset again. Received: data shape={data.shape}"
        )
    if labels.shape != (data.shape[0],) or (labels.size and labels.dtype.kind not in "iu"):
        raise CorruptDatasetError(
            f"{title} batch {source} must hold {data.shape[0]} integer labels, one per image. "
            f"Received: {key} shape={labels.shape}, dtype={labels.dtype}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise CorruptDatasetError(
            f"{title} batch {source} has {key} outside 0-{num_classes - 1}. "
            f"Received: min={labels.min()}, max={labels.max()}"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _check_counts(splits: tuple[Split, Split], source: Path, spec: _Dataset) -> tuple[Split, Split]:
    """Refuses a copy with images missing or added: a wrong count means a wrong file, e.g. a
    half-written ``train`` or another dataset's ``test`` put in its place."""
    if spec.counts is not None:
        for split, (images, _) in zip(("train", "test"), splits, strict=True):
            expected = spec.counts[split]
            if len(images) != expected:
                raise CorruptDatasetError(
                    f"{spec.title} in {source} holds {len(images):,} images in its "
                    f"{SPLITS[split][0]}, but the official release has {expected:,}: the file "
                    "is incomplete or from another dataset; delete it and fetch the dataset "
                    f"again. Received: {split} images={len(images)}"
                )
    return splits


def _read_folder(folder: Path, spec: _Dataset, label_mode: str) -> tuple[Split, Split]:
    def read(name: str) -> Split:
        path = folder / name
        if not path.is_file():
            raise CorruptDatasetError(
                f"{folder} is missing {name}; a {spec.title} folder holds "
                f"{', '.join(spec.train_files)} and {spec.test_file}."
            )
        return _parse_batch(path.read_bytes(), str(path), spec, label_mode)

    splits = _join([read(n) for n in spec.train_files]), read(spec.test_file)
    return _check_counts(splits, folder, spec)


def _read_archive(archive: Path, spec: _Dataset, label_mode: str) -> tuple[Split, Split]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            missing = [n for n in (*spec.train_files, spec.test_file) if n not in members]
            if missing:
                raise CorruptDatasetError(f"{archive} lacks {', '.join(missing)}.")

            def read(name: str) -> Split:
                handle = tar.extractfile(members[name])
                assert handle is not None  # members are regular files
                return _parse_batch(handle.read(), f"{archive}:{name}", spec, label_mode)

            splits = _join([read(n) for n in spec.train_files]), read(spec.test_file)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise CorruptDatasetError(
            f"Cannot read {archive}: {exc}. The archive is truncated or corrupt; delete it and "
            "fetch it again."
        ) from exc
    return _check_counts(splits, archive, spec)


def _join(splits: list[Split]) -> Split:
    if len(splits) == 1:
        return splits[0]  # CIFAR-100's single file: no copy of 150 MB
    return np.concatenate([s[0] for s in splits]), np.concatenate([s[1] for s in splits])


def _find_in(folder: Path, spec: _Dataset = _CIFAR10, keras_cache: bool = False) -> Path | None:
    """Returns the dataset's folder or archive inside ``folder`` (or ``folder`` itself).

    In Keras's cache the folder lies one level down, where ``keras.datasets`` extracts it.
    """
    candidates = [folder / spec.folder, folder]
    if keras_cache:
        candidates.append(folder / f"{spec.folder}-target" / spec.folder)
    for candidate in candidates:
        if (candidate / spec.test_file).is_file():
            return candidate
    for name in spec.archives:
        if (folder / name).is_file():
            return folder / name
    return None


def _expected(folder: Path | None, spec: _Dataset) -> str:
    return (
        f"{folder}/{spec.folder}/ ({spec.layout}) or {folder}/{spec.archives[0]}"
        if folder is not None
        else f"{spec.folder}/ ({spec.layout}) or {spec.archives[0]}"
    )


def _identify(data_dir: str | os.PathLike, dataset: str | None) -> tuple[_Dataset, str]:
    if dataset is not None and dataset not in _DATASETS:
        raise InvalidArgumentError(
            f"dataset must be 'cifar10', 'cifar100' or None (either). Received: dataset={dataset!r}"
        )
    folder = Path(data_dir).expanduser()
    specs = [_DATASETS[dataset]] if dataset else list(_DATASETS.values())
    for spec in specs:
        found = _find_in(folder, spec)
        if found is not None:
            break
    else:
        others = "".join(f" (nor {s.title}: {_expected(folder, s)})" for s in specs[1:])
        raise DatasetNotFoundError(
            f"No {specs[0].title} in {folder}: expected {_expected(folder, specs[0])}{others}. "
            f"Received: data_dir={str(data_dir)!r}"
        )
    if not found.is_dir():
        return spec, spec.unlabelled  # an archive, as the official release ships
    source = found / SOURCE_FILE
    text = source.read_text(encoding="utf-8", errors="replace") if source.is_file() else ""
    for name, (first_words, _, _) in spec.copies.items():
        if text.startswith(first_words):
            return spec, name
    return spec, spec.unlabelled


def identify_copy(data_dir: str | os.PathLike, *, dataset: str | None = None) -> str:
    """Names the copy in a folder: for CIFAR-10 ``"lossless"``, ``"jpeg_q75"`` or
    ``"unlabelled"``; for CIFAR-100 ``"cifar100_lossless"`` or ``"cifar100_unlabelled"``.

    The copies built for this project carry a ``SOURCE.txt`` saying what they are; the official
    releases, which read the same way, carry none and are unlabelled. A folder holding both
    datasets names its CIFAR-10 copy unless ``dataset="cifar100"``.

    Raises:
        DatasetNotFoundError: If the folder holds neither dataset (or not ``dataset``).
        InvalidArgumentError: If ``dataset`` is not ``"cifar10"``, ``"cifar100"`` or None.
    """
    return _identify(data_dir, dataset)[1]


def describe_copy(
    data_dir: str | os.PathLike, split: str = "test", *, dataset: str | None = None
) -> str:
    """How a number measured (or a model trained) on ``data_dir`` names its data, e.g.
    ``"CIFAR-10 test set (10,000 images), lossless copy: ..."`` (the manifest's ``data``) or
    ``"CIFAR-100 test set ..."``; ``dataset`` picks one in a folder holding both (see
    :func:`identify_copy`)."""
    if split not in SPLITS:
        raise InvalidArgumentError(f"split must be 'train' or 'test'. Received: split={split!r}")
    name, total = SPLITS[split]
    spec, copy = _identify(data_dir, dataset)
    if copy in spec.copies:
        _, label, filled = spec.copies[copy]
        label = label.format(filled=filled[split], total=total)
    else:
        label = "from a folder without SOURCE.txt, as the official release is"
    return f"{spec.title} {name} ({total:,} images), {label}"


def _check_folder(folder: Path, origin: str, value: Any, spec: _Dataset) -> None:
    """Refuses a ``data_dir`` or ``KERAS_CIFAR_ZOO_DATA`` that is a file or does not exist."""
    if folder.is_dir():
        return
    fix = f" or unset {DATA_ENV}" if origin == DATA_ENV else ""
    setting = origin if origin == DATA_ENV else f"{origin}="
    if folder.exists():
        parent = f" (pass its folder, {folder.parent})" if folder.name in spec.archives else ""
        state = f"is a file, not a folder{parent}"
    else:
        state = "does not exist"
    raise DatasetNotFoundError(
        f"No {spec.title} in {folder}: the path {state}. {setting} must name a folder holding "
        f"{_expected(None, spec)}; point it at one{fix}.{spec.fetch_hint} "
        f"Received: {origin}={str(value)!r}"
    )


def _keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def _download(spec: _Dataset, label_mode: str) -> tuple[Split, Split]:
    import keras

    load_data = getattr(keras.datasets, spec.keras_dataset).load_data
    (x_train, y_train), (x_test, y_test) = (
        load_data(label_mode=label_mode) if label_mode else load_data()
    )
    return (x_train, y_train.reshape(-1).astype(np.int64)), (
        x_test,
        y_test.reshape(-1).astype(np.int64),
    )


def _load(spec: _Dataset, data_dir: Any, label_mode: str, download: Any) -> tuple[Split, Split]:
    """The search shared by both loaders: ``data_dir``, ``KERAS_CIFAR_ZOO_DATA``, Keras's
    cache, then (if allowed) a download through ``keras.datasets``."""
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise InvalidTypeError(
            f"data_dir must be the path (a str or os.PathLike) of a folder holding "
            f"{spec.folder}/ or {spec.archives[0]}, or None. Received: data_dir={data_dir!r}"
        )
    if not isinstance(label_mode, str) or label_mode not in spec.label_keys:
        modes = " or ".join(
            f"{mode!r} ({count} classes)" for mode, (_, count) in spec.label_keys.items()
        )
        raise InvalidArgumentError(
            f"label_mode must be {modes}. Received: label_mode={label_mode!r}"
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
            _check_folder(folder, origin, data_dir if origin == "data_dir" else env, spec)
        found = _find_in(folder, spec, keras_cache=origin == "Keras cache")
        looked.append(f"{origin}={folder}")
        if found is None:
            if origin == "data_dir":
                raise DatasetNotFoundError(
                    f"No {spec.title} in {folder}: expected {_expected(folder, spec)}."
                    f"{spec.fetch_hint} Received: data_dir={str(data_dir)!r}"
                )
            continue
        logger.info("Reading %s from %s", spec.title, found)
        if found.is_dir():
            return _read_folder(found, spec, label_mode)
        return _read_archive(found, spec, label_mode)

    if download:
        try:
            return _download(spec, label_mode)
        except Exception as exc:  # no network, blocked host, bad archive
            looked.append(f"download failed: {exc}")
    raise DatasetNotFoundError(
        f"{spec.title} not found ({'; '.join(looked)}). Set {DATA_ENV} to a folder holding "
        f"{_expected(None, spec)}, or pass data_dir=.{spec.fetch_hint}"
    )


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
    return _load(_CIFAR10, data_dir, "", download)


def load_cifar100(
    data_dir: str | os.PathLike | None = None, label_mode: str = "fine", *, download: bool = True
) -> tuple[Split, Split]:
    """Loads CIFAR-100 as uint8 images (N, 32, 32, 3) and int64 labels (N,).

    Searches as :func:`load_cifar10` does (``data_dir``, ``KERAS_CIFAR_ZOO_DATA``, Keras's
    cache, then a download through ``keras.datasets.cifar100``); a folder may hold
    ``cifar-100-python/`` (the official python layout: ``train``, ``test``, ``meta``) or
    ``cifar-100-python.tar.gz``. Label ``i`` is named ``CIFAR100_FINE_NAMES[i]`` (or
    ``CIFAR100_COARSE_NAMES[i]``).

    Args:
        data_dir: A folder holding the dataset. If given, it must hold it.
        label_mode: ``"fine"`` for the 100 classes, ``"coarse"`` for the 20 superclasses.
        download: If False, never download; raise instead.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``, 50,000 and 10,000 images.

    Raises:
        InvalidTypeError: If ``data_dir`` is not a path or ``download`` not a bool.
        InvalidArgumentError: If ``label_mode`` is not ``"fine"`` or ``"coarse"``.
        DatasetNotFoundError: If no copy is found and downloading is off or fails, or if
            ``data_dir`` or ``KERAS_CIFAR_ZOO_DATA`` names a file or a missing folder.
        CorruptDatasetError: If a file is truncated or malformed, has labels outside 0-99
            (0-19 coarse), or holds another number of images than 50,000 and 10,000.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_cifar100(label_mode="coarse")
        >>> x_test.shape, int(y_test.max())
        ((10000, 32, 32, 3), 19)
    """
    return _load(_CIFAR100, data_dir, label_mode, download)


DATASETS = {"cifar10": ("CIFAR-10", 10), "cifar100": ("CIFAR-100", 100)}
"""The datasets ``fit``, ``evaluate`` and the weights know: name -> (title, classes)."""


def check_dataset(dataset: Any) -> str:
    """Returns ``dataset`` if it names a known dataset; a typed error naming them otherwise."""
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise InvalidArgumentError(
            f"dataset must be one of {', '.join(map(repr, DATASETS))}. "
            f"Received: dataset={dataset!r}"
        )
    return dataset


def load_dataset(
    dataset: str, data_dir: str | os.PathLike | None = None, *, download: bool = True
) -> tuple[Split, Split]:
    """:func:`load_cifar10` or :func:`load_cifar100` (fine labels), by name."""
    if check_dataset(dataset) == "cifar100":
        return load_cifar100(data_dir, download=download)
    return load_cifar10(data_dir, download=download)


def default_class_names(num_classes: int) -> tuple[str, ...]:
    """The names a model with ``num_classes`` outputs most likely predicts: CIFAR-10's for
    10, CIFAR-100's fine names for 100 and coarse names for 20, else ``"0"``, ``"1"``, ..."""
    known = {10: CLASS_NAMES, 100: CIFAR100_FINE_NAMES, 20: CIFAR100_COARSE_NAMES}
    return known.get(num_classes) or tuple(str(i) for i in range(num_classes))


def resolve_class_names(
    class_names: Sequence[str] | None, num_classes: int | None, counted_by: str = ""
) -> tuple[str, ...]:
    """``class_names`` checked to name each of ``num_classes`` classes (any count if None)
    once, or the default names for that count; ``counted_by`` says in messages what has
    ``num_classes`` classes, e.g. ``"model 'resnet20'"``."""
    if class_names is None:
        if num_classes is None:
            raise InvalidArgumentError("class_names or num_classes must be given.")
        return default_class_names(num_classes)
    if isinstance(class_names, (str, bytes)) or not hasattr(class_names, "__iter__"):
        raise InvalidTypeError(
            "class_names must be a sequence of names (str), one per class, or None for the "
            f"default names. Received: class_names={class_names!r}"
        )
    names = tuple(class_names)
    if not all(isinstance(name, str) for name in names):
        kinds = sorted({type(name).__name__ for name in names if not isinstance(name, str)})
        raise InvalidTypeError(
            f"class_names must hold str names. Received: elements of type {', '.join(kinds)}"
        )
    if num_classes is not None and len(names) != num_classes:
        raise InvalidArgumentError(
            f"class_names holds {len(names)} names but {counted_by} has {num_classes} classes; "
            f"pass one name per class. Received: len(class_names)={len(names)}"
        )
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise InvalidArgumentError(
            f"class_names must name each class once. Received: repeated names {repeated}"
        )
    return names


# ---------------------------------------------------------------------------------------------
# Image files

_WIDE_GRAY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
"""Pillow's modes for 16-bit (and 32-bit integer) grayscale images, which ``convert("RGB")``
clips at 255 instead of scaling: a 16-bit PNG would come out almost white."""


def _as_rgb(image: Any) -> np.ndarray:
    """An opened image as RGB uint8 (H, W, 3), upright as a viewer shows it.

    EXIF orientation is applied, since phones store pictures sideways with a rotation tag. A
    16-bit image is scaled to 8 bits (divided by 257, so 65535 becomes 255); Pillow already
    does that itself for 16-bit RGB(A) and gray-with-alpha PNGs, which it opens as 8-bit
    ``RGB``/``RGBA``.
    """
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image)
    if image.mode in _WIDE_GRAY_MODES:
        values = np.clip(np.asarray(image, dtype=np.float64), 0, 65535)
        gray = np.rint(values / 257).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def read_images(paths: Sequence[str | os.PathLike], size: tuple[int, int] = (32, 32)) -> np.ndarray:
    """Reads image files (PNG, JPEG, anything Pillow opens) as a batch of raw RGB pixels.

    Each image is turned upright by its EXIF orientation, scaled to 8 bits if it has 16
    (16-bit grayscale PNGs included) and resized to ``size`` with bicubic resampling, the
    input a zoo model takes.

    Args:
        paths: The image files.
        size: ``(height, width)`` to resize to.

    Returns:
        uint8 array of shape ``(len(paths), height, width, 3)``.

    Raises:
        InvalidArgumentError: If a file is missing, is not an image Pillow can read, is
            truncated, or has more pixels than Pillow's decompression-bomb limit.
    """
    from PIL import Image

    batch = []
    for path in paths:
        received = f"Received: path={str(path)!r}"
        try:
            with Image.open(path) as image:
                rgb = _as_rgb(image)
        except Image.DecompressionBombError as exc:
            raise InvalidArgumentError(
                f"Cannot read image {path}: it has more pixels than Pillow decodes safely "
                f"({exc}). Shrink it first (a zoo model sees {size[0]}x{size[1]} pixels), "
                f"e.g. with an image editor. {received}"
            ) from None
        except (OSError, ValueError, SyntaxError) as exc:  # missing, not an image, truncated
            reason = exc.strerror if isinstance(exc, FileNotFoundError) else exc
            raise InvalidArgumentError(
                f"Cannot read image {path}: {reason}. Pass PNG or JPEG files. {received}"
            ) from exc
        resized = Image.fromarray(rgb).resize((size[1], size[0]), Image.Resampling.BICUBIC)
        batch.append(np.asarray(resized, dtype=np.uint8))
    if not batch:
        raise InvalidArgumentError("read_images needs at least one image file. Received: paths=[]")
    return np.stack(batch)


def _check_size(size: Any) -> tuple[int, int]:
    ok = isinstance(size, (tuple, list)) and len(size) == 2
    ok = ok and all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in size)
    if not ok or min(size) < 1:
        raise InvalidArgumentError(
            "size must be (height, width), two whole numbers of at least 1 such as (32, 32) or "
            f"model.input_shape[1:3]. Received: size={size!r}"
        )
    return int(size[0]), int(size[1])


def load_images(
    paths: str | os.PathLike | Sequence[str | os.PathLike], size: tuple[int, int] = (32, 32)
) -> np.ndarray:
    """Reads image files into the batch a zoo model takes: raw RGB pixels 0-255, resized.

    The Python side of ``keras-cifar-zoo predict``: each file is turned upright by its EXIF
    orientation, converted to 8-bit RGB and resized to ``size`` with bicubic resampling
    (Pillow), as the command does (see :func:`read_images`). The models hold their own
    preprocessing, so the batch goes to ``model.predict`` as it is.

    Args:
        paths: One image file (PNG, JPEG, anything Pillow opens) or a sequence of them.
        size: ``(height, width)`` to resize to: the model's input, ``model.input_shape[1:3]``.

    Returns:
        uint8 array of shape ``(len(paths), height, width, 3)``, in the order of ``paths``.

    Raises:
        InvalidTypeError: If ``paths`` is neither a path nor a sequence of paths.
        InvalidArgumentError: If ``size`` is not two positive integers, or a file is missing
            or not a readable image.

    Example:
        >>> images = load_images(["cat.png", "ship.jpg"])  # doctest: +SKIP
        >>> decode_predictions(model.predict(images), top=3)  # doctest: +SKIP
        [[(3, 'cat', 0.87), (5, 'dog', 0.06), (2, 'bird', 0.01)], [(8, 'ship', 0.9), ...]]
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    elif isinstance(paths, bytes) or not isinstance(paths, Sequence):
        raise InvalidTypeError(
            "paths must be an image file (a str or os.PathLike) or a sequence of them. "
            f"Received: paths of type {type(paths).__name__}"
        )
    wrong = sorted({type(p).__name__ for p in paths if not isinstance(p, (str, os.PathLike))})
    if wrong:
        raise InvalidTypeError(
            f"paths must hold image files (str or os.PathLike). Received: elements of type "
            f"{', '.join(wrong)}"
        )
    return read_images(list(paths), _check_size(size))


def decode_predictions(
    preds: Any, top: int = 5, class_names: Sequence[str] | None = None
) -> list[list[tuple[int, str, float]]]:
    """The ``top`` classes of each image, best first, as ``(class_index, class_name, score)``.

    Mirrors ``keras.applications.imagenet_utils.decode_predictions``, which returns one list
    per image of ``(wordnet_id, class_name, score)`` tuples sorted by score: CIFAR classes
    have no WordNet ids, so the first item is the class index, the label the datasets use.
    Equal scores keep the lower index first. ``top`` larger than the class count gives every
    class.

    Args:
        preds: Model outputs of shape ``(N, num_classes)`` (probabilities or logits), or the
            :class:`~keras_cifar_zoo.Predictions` that :func:`~keras_cifar_zoo.predict` returns.
        top: How many classes to give per image.
        class_names: One name per column; default: CIFAR-10's names for 10 columns,
            CIFAR-100's fine names for 100 and coarse names for 20.

    Returns:
        A list per image of ``(int, str, float)`` tuples.

    Raises:
        InvalidArgumentError: If ``preds`` is not 2D, ``top`` is not a positive integer, or
            the class names do not match the columns.
        InvalidTypeError: If ``class_names`` is not a sequence of str.
    """
    scores = np.asarray(getattr(preds, "probabilities", preds))
    if scores.ndim != 2 or scores.shape[1] == 0 or not np.issubdtype(scores.dtype, np.number):
        raise InvalidArgumentError(
            "preds must be a 2D array of class scores, (images, classes), such as "
            f"model.predict(images). Received: preds.shape={scores.shape}, dtype={scores.dtype}"
        )
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise InvalidArgumentError(
            f"top must be a whole number of at least 1. Received: top={top!r}"
        )
    count = scores.shape[1]
    if class_names is None and count not in (10, 20, 100):
        raise InvalidArgumentError(
            f"preds has {count} classes, which have no default names (CIFAR-10's 10, "
            "CIFAR-100's 100 fine or 20 coarse classes): pass class_names= with one name per "
            f"class. Received: preds.shape={scores.shape}"
        )
    names = resolve_class_names(class_names, count, f"preds ({count} columns)")
    ranked = np.argsort(-scores.astype(np.float64), axis=1, kind="stable")[:, : int(top)]
    return [
        [(int(i), names[i], float(row[i])) for i in order]
        for row, order in zip(scores, ranked, strict=True)
    ]
