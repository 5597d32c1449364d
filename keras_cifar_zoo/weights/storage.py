"""How weights files are stored and checked against their manifest records.

Checkpoints are published and kept as float16 when that costs no accuracy; loading casts the
values back to the model's float32 (Keras does so on assign, and so does this package).
A stored file is checked against its record size first, then sha256: a stat costs nothing,
while hashing a wrong (truncated, padded, sparse) file of gigabytes takes seconds.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_cifar_zoo.errors import IntegrityError

if TYPE_CHECKING:
    from keras_cifar_zoo.weights.manifest import FileRecord

_CHUNK = 1 << 20


def size_mismatch(path: str | os.PathLike, record: FileRecord) -> str | None:
    """What is wrong with the size of ``path`` against its record, or None if it agrees.

    Raises:
        OSError: If the file cannot be stat'ed (FileNotFoundError for a missing one).
    """
    size = os.stat(path).st_size
    if size == record.size:
        return None
    return f"expected {record.size:,} bytes, the file has {size:,}"


def check_size(path: str | os.PathLike, record: FileRecord, *, label: str) -> None:
    """Raises :class:`IntegrityError` at once if ``path`` is not the record's size.

    Call it before hashing: a file of the wrong size cannot have the recorded sha256.

    Raises:
        IntegrityError: If the sizes differ.
    """
    problem = size_mismatch(path, record)
    if problem is not None:
        raise IntegrityError(
            f"Integrity check failed for {label}: {problem} ({record.name} in the manifest), "
            f"so it is not the published file; it was not hashed. Replace it with the "
            f"published file (or fetch it again). Received: path={str(path)!r}"
        )


def sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: str | os.PathLike, record: FileRecord, *, label: str) -> None:
    """Checks a stored file against its manifest record: its size, then its sha256.

    Raises:
        IntegrityError: If the size or the sha256 differs (the size without hashing).
    """
    check_size(path, record, label=label)
    actual = sha256(path)
    if actual != record.sha256:
        raise IntegrityError(
            f"Integrity check failed for {label}: expected sha256 {record.sha256}, got "
            f"{actual}. Replace it with the published file (or fetch it again). "
            f"Received: path={str(path)!r}"
        )


def matches(folder: str | os.PathLike, records: tuple[FileRecord, ...]) -> bool:
    """True if ``folder`` holds every recorded file with its size and sha256."""
    folder = Path(folder)
    for record in records:
        path = folder / record.name
        try:
            if size_mismatch(path, record) is not None or sha256(path) != record.sha256:
                return False
        except OSError:
            return False
    return True


def cast_weights_file(src: str | os.PathLike, dst: str | os.PathLike, dtype: str) -> None:
    """Copies a Keras ``.weights.h5`` file, casting float32/float16 datasets to ``dtype``.

    Groups, attributes (the layer names Keras stores) and other datasets are copied as is.
    """
    import h5py

    target = np.dtype(dtype)

    def copy(source: Any, dest: Any) -> None:
        for key, value in source.attrs.items():
            dest.attrs[key] = value
        for key, item in source.items():
            if isinstance(item, h5py.Group):
                copy(item, dest.create_group(key))
                continue
            data = item[()]
            if isinstance(data, np.ndarray) and data.dtype in (np.float32, np.float16):
                data = data.astype(target)
            out = dest.create_dataset(key, data=data)
            for k, v in item.attrs.items():
                out.attrs[k] = v

    with h5py.File(src, "r") as source, h5py.File(dst, "w") as dest:
        copy(source, dest)
