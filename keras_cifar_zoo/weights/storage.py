"""How weights files are stored: a Keras ``.weights.h5`` file cast to another float dtype.

Checkpoints are published and kept as float16 when that costs no accuracy; loading casts the
values back to the model's float32 (Keras does so on assign, and so does this package).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


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
