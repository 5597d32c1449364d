"""ImageNet weights of the Keras Applications VGG16/VGG19, loaded by layer name.

The files are the ones ``keras.applications.VGG16/VGG19`` download (names, URLs, cache
folder and md5 hashes copied from keras 3.15's ``applications/vgg16.py`` and ``vgg19.py``;
a test re-reads them from the installed keras source). They use the legacy Keras HDF5 layout:
the root attribute ``layer_names`` lists the layers, and each layer group's ``weight_names``
attribute lists its datasets in order. Dataset names differ between Keras releases, so they
are read in that order, never by name.

Every conv and dense layer of the model whose name and shape match the file is copied
explicitly (Keras's own ``by_name`` loading silently skips layers); BatchNorm layers keep their
initial values. The result is a :class:`~keras_cifar_zoo.weights.loading.LoadReport`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keras

from keras_cifar_zoo.errors import InvalidArgumentError, WeightsMismatchError
from keras_cifar_zoo.preprocessing import IMAGENET_MEAN_RGB
from keras_cifar_zoo.weights import hub
from keras_cifar_zoo.weights.loading import (
    CLASSIFIER_LAYERS,
    LoadReport,
    apply_plan,
    read_array,
    use_preprocessing,
    warn_new_head,
)

logger = logging.getLogger(__name__)

IMAGENET_ENV = "KERAS_CIFAR_ZOO_IMAGENET"
FIRST_CONV = "block1_conv1"
"""The convolution that reads the images: the BGR order of the files is folded into it."""
_BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications"


@dataclasses.dataclass(frozen=True)
class KerasFile:
    """One ImageNet weights file of ``keras.applications``.

    Attributes:
        network: ``"vgg16"`` or ``"vgg19"``.
        include_top: True for the file with fc1, fc2 and predictions.
        fname: File name (also its name in Keras's cache).
        origin: URL keras.applications downloads it from.
        file_hash: The md5 keras.applications checks it against.
        cache_subdir: Folder under the Keras cache.
    """

    network: str
    include_top: bool
    fname: str
    origin: str
    file_hash: str
    cache_subdir: str = "models"


def _file(network: str, include_top: bool, file_hash: str) -> KerasFile:
    suffix = "" if include_top else "_notop"
    fname = f"{network}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    return KerasFile(network, include_top, fname, f"{_BASE_URL}/{network}/{fname}", file_hash)


KERAS_FILES: dict[tuple[str, bool], KerasFile] = {
    ("vgg16", True): _file("vgg16", True, "64373286793e3c8b2b4e3219cbf3544b"),
    ("vgg16", False): _file("vgg16", False, "6d6bbae143d832006294945121d1f1fc"),
    ("vgg19", True): _file("vgg19", True, "cbe5617147190e668d6c5d5026f83318"),
    ("vgg19", False): _file("vgg19", False, "253f8cb515780f3b799900260a226db6"),
}

# Convolutions per block of each network: the fingerprint that tells VGG16 from VGG19.
CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_LABEL = {"vgg16": "VGG16", "vgg19": "VGG19"}


def conv_layer_names(network: str) -> list[str]:
    """``block1_conv1`` ... of a Keras Applications network, in order."""
    return [
        f"block{b}_conv{c}"
        for b, count in enumerate(CONVS_PER_BLOCK[network], start=1)
        for c in range(1, count + 1)
    ]


def _text(value: Any) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


@contextmanager
def open_legacy_h5(path: str | os.PathLike) -> Iterator[dict[str, list[Any]]]:
    """Opens a legacy Keras HDF5 weights file.

    Yields:
        ``{layer name: [h5py datasets in weight_names order]}`` in ``layer_names`` order, for
        the layers holding weights. Datasets are read only when used.

    Raises:
        WeightsMismatchError: If the file is not in the legacy layout.
    """
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise WeightsMismatchError(
            f"{path} is not a readable HDF5 file ({exc}). Pass a Keras Applications VGG file. "
            f"Received: imagenet_weights={str(path)!r}"
        ) from None
    with handle:
        root = handle.get("model_weights", handle)
        if "layer_names" not in root.attrs:
            raise WeightsMismatchError(
                f"{path} is not a legacy Keras weights file: it has no 'layer_names' attribute "
                "(Keras 3 '.weights.h5' files are loaded with weights=PATH instead). "
                f"Received: imagenet_weights={str(path)!r}"
            )
        layers: dict[str, list[Any]] = {}
        for raw_name in root.attrs["layer_names"]:
            name = _text(raw_name)
            group = root[name]
            names = [_text(w) for w in group.attrs.get("weight_names", [])]
            if names:
                layers[name] = [group[w] for w in names]
        yield layers


def detect_network(layer_names: list[str]) -> str | None:
    """Says which Keras Applications VGG a file's layers belong to, or None."""
    convs = {n for n in layer_names if n.startswith("block") and "_conv" in n}
    for network in CONVS_PER_BLOCK:
        if convs == set(conv_layer_names(network)):
            return network
    return None


def _describe(layer_names: list[str]) -> str:
    network = detect_network(layer_names)
    if network is not None:
        return _LABEL[network]
    convs = [n for n in layer_names if n.startswith("block") and "_conv" in n]
    if convs:
        return f"an unknown VGG-like network ({len(convs)} conv layers)"
    shown = ", ".join(layer_names[:5]) + (", ..." if len(layer_names) > 5 else "")
    return f"no VGG (its layers: {shown or 'none'})"


def resolve_file(
    network: str,
    *,
    wants_top: bool = True,
    imagenet_weights: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
) -> tuple[Path, str]:
    """Finds the ImageNet file for ``network``: a local file or folder, else Keras's cache.

    With ``wants_top`` (the model has an ``fc2`` layer) the file with the classifier (fc1, fc2,
    predictions) is used, unless a local folder holds only the ``_notop`` file; otherwise the
    ``_notop`` file (a tenth of the size), or the full file if Keras already cached it.

    Returns:
        ``(path, how it was found)``.

    Raises:
        InvalidArgumentError: If a local file or folder given does not hold the file.
        HubError: If the file cannot be downloaded.
        IntegrityError: If a cached or downloaded file fails its md5.
    """
    preferred = [KERAS_FILES[(network, wants_top)], KERAS_FILES[(network, not wants_top)]]
    hub.check_path_option(
        imagenet_weights,
        "imagenet_weights",
        "a Keras Applications VGG file or a folder holding one",
    )
    origin, local = ("imagenet_weights", imagenet_weights)
    if local is None:
        origin, local = IMAGENET_ENV, os.environ.get(IMAGENET_ENV) or None
    if local is not None:
        path = Path(local).expanduser()
        if path.is_file():
            return path, f"local file ({origin})"
        if path.is_dir():
            for candidate in preferred:
                if (path / candidate.fname).is_file():
                    return path / candidate.fname, f"local folder ({origin})"
        names = " or ".join(f.fname for f in preferred)
        where = "the folder lacks both" if path.is_dir() else "the path does not exist"
        fix = f"unset {IMAGENET_ENV} to use Keras's cache" if origin == IMAGENET_ENV else ""
        raise InvalidArgumentError(
            f"No ImageNet {_LABEL[network]} weights at {path} ({where}): point {origin} at the "
            f"file, or at a folder holding {names}{', or ' + fix if fix else ''}. "
            f"Received: {origin}={str(local)!r}"
        )
    cache = hub.keras_cache_dir(cache_dir)
    if not wants_top:  # reuse the full file if Keras already has it, else fetch the small one
        full = preferred[1]
        if (cache / full.cache_subdir / full.fname).is_file():
            preferred = [full]
    chosen = preferred[0]
    path = hub.fetch_keras_file(
        chosen.fname,
        chosen.origin,
        chosen.file_hash,
        cache_subdir=chosen.cache_subdir,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
    )
    return path, "Keras cache"


def load_imagenet_weights(
    model: keras.Model,
    network: str,
    *,
    imagenet_weights: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
) -> LoadReport:
    """Copies ImageNet VGG weights into ``model`` by layer name and shape.

    Conv and dense layers whose name and shape match the file are copied bit-exactly (cast
    to the variable dtype); every other layer with weights is reported as skipped, with the
    reason. The files expect Caffe-style inputs: BGR images minus the ImageNet BGR means. The
    model keeps taking RGB: its ``preprocessing`` layer subtracts the same means in RGB order
    (``imagenet_mean_rgb``) and ``block1_conv1``'s kernel is stored with its input channels
    reversed, which computes exactly what the file's network computes on BGR inputs.

    Args:
        model: A zoo VGG whose convolutions match ``network``.
        network: ``"vgg16"`` or ``"vgg19"``.
        imagenet_weights: A local file, or a folder holding the Keras file names.
        cache_dir: Keras's cache folder.
        local_files_only: Never download.

    Returns:
        The :class:`LoadReport`.

    Raises:
        WeightsMismatchError: If the file holds another network.
        InvalidArgumentError, HubError, IntegrityError: See :func:`resolve_file`.
    """
    path, found = resolve_file(
        network,
        wants_top=any(layer.name == "fc2" for layer in model.layers),
        imagenet_weights=imagenet_weights,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
    )
    with open_legacy_h5(path) as layers:
        seen = detect_network(list(layers))
        if seen != network:
            raise WeightsMismatchError(
                f"The ImageNet weights file {path} looks like {_describe(list(layers))}, but "
                f"{model.name} matches {_LABEL[network]}. Pass the {_LABEL[network]} file "
                f"({KERAS_FILES[(network, True)].fname} or its _notop variant). "
                f"Received: imagenet_weights={str(path)!r}"
            )
        plan: list[tuple[keras.Layer, list[Any]]] = []
        skipped: dict[str, str] = {}
        loaded: list[str] = []
        for layer in model.layers:
            if not layer.weights:
                continue
            if isinstance(layer, keras.layers.BatchNormalization):
                skipped[layer.name] = (
                    "BatchNormalization: not in the ImageNet file, keeps its initial values"
                )
                continue
            if not isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
                skipped[layer.name] = f"{type(layer).__name__}: not loaded from ImageNet files"
                continue
            datasets = layers.get(layer.name)
            if datasets is None:
                skipped[layer.name] = "missing in file"
                continue
            model_shapes = [tuple(w.shape) for w in layer.weights]
            file_shapes = [tuple(d.shape) for d in datasets]
            if model_shapes != file_shapes:
                skipped[layer.name] = (
                    f"shape mismatch: file {_shapes(file_shapes)}, model {_shapes(model_shapes)}"
                )
                continue
            if layer.name == FIRST_CONV:
                kernel, *rest = (read_array(d) for d in datasets)
                datasets = [kernel[:, :, ::-1, :], *rest]
            plan.append((layer, datasets))
            loaded.append(layer.name)
        apply_plan(plan)
    head = [
        name
        for name in skipped
        if name in CLASSIFIER_LAYERS or isinstance(model.get_layer(name), keras.layers.Dense)
    ]
    if head:
        warn_new_head(
            model, head, "the ImageNet file has none of their shapes (224x224 inputs, 1000 classes)"
        )
    notes = []
    unused = [n for n in layers if n not in {layer.name for layer in model.layers}]
    if unused:
        notes.append(f"layers of the file not in the model: {', '.join(unused)}")
    if FIRST_CONV in loaded:
        notes.append(
            f"{FIRST_CONV}'s kernel has its input channels reversed: the file expects BGR "
            "images, the model takes RGB"
        )
    notes.append(
        use_preprocessing(
            model,
            IMAGENET_MEAN_RGB,
            reason="the ImageNet VGG weights expect the ImageNet means subtracted",
        )
    )
    report = LoadReport(
        model=model.name,
        source=f"imagenet ({_LABEL[network]}, {path.name}, {found})",
        loaded=tuple(loaded),
        skipped=skipped,
        notes=tuple(n for n in notes if n),
    )
    report.log(logger)
    return report


def _shapes(shapes: list[tuple[int, ...]]) -> str:
    return ", ".join(str(s) for s in shapes)
