"""Export a zoo model for serving: a TensorFlow SavedModel, an ONNX file or a LiteRT file.

:func:`export_model` builds the model with :func:`keras_cifar_zoo.load_model` and hands it to
Keras's own exporter, ``model.export(path, format=...)``. Every check runs before the model
is built: the format, the model name, the output path (it must not exist; nothing is ever
overwritten) and the packages the format needs. The artifact is written into a temporary
sibling of ``path`` and renamed into place once complete, so an interrupted or failed export
leaves nothing at ``path``.

The zoo's models start with their preprocessing layer, so the exported artifacts take raw RGB
pixels in 0-255 (``float32``, shape ``(batch, 32, 32, 3)``) and return the class
probabilities; a model built with ``include_top=False`` returns features, and one with
``classifier_activation=None`` logits, which the export's report (an INFO log line) says.

Importing this module does not import Keras: the command line reads :data:`FORMATS` and
:func:`check_output_path` while it parses its arguments.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from keras_cifar_zoo.errors import (
    InvalidArgumentError,
    InvalidTypeError,
    MissingExportPackageError,
    OutputExistsError,
    OutputWriteError,
    ZooError,
    write_failure_fix,
)

logger = logging.getLogger(__name__)

FORMATS: dict[str, str] = {
    "tf_saved_model": "a TensorFlow SavedModel folder (tf.saved_model.load, TF Serving)",
    "onnx": "an .onnx file (ONNX Runtime)",
    "litert": "a .tflite file (LiteRT, formerly TensorFlow Lite)",
}
"""Export formats -> what each writes."""

SUFFIXES: dict[str, str] = {"onnx": ".onnx", "litert": ".tflite"}
"""The file name ending each file format requires (a SavedModel is a folder)."""

EXTRA = 'pip install "keras-cifar-zoo[export]"'
"""The command that installs every package the export formats need."""

# (format, Keras backend) -> the modules Keras imports for it, as (module, pip package).
_REQUIRED: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("onnx", "tensorflow"): (("tf2onnx", "tf2onnx"), ("onnx", "onnx")),
    ("onnx", "jax"): (("jax2onnx", "jax2onnx"),),
    ("litert", "torch"): (("litert_torch", "litert-torch"),),
}
_LITERT_BACKENDS = ("tensorflow", "torch")  # model.export(format="litert") refuses the others
_IN_EXTRA = {"tf2onnx", "onnx"}  # packages that `pip install keras-cifar-zoo[export]` brings


def _received(option: str, value: Any) -> str:
    """``path='x'``, a path shown as the string it was given."""
    shown = str(value) if isinstance(value, os.PathLike) else value
    return f"{option}={shown!r}"


def check_format(format: Any) -> str:
    """Returns ``format`` if it is one of :data:`FORMATS`, otherwise raises.

    Raises:
        InvalidArgumentError: For an unknown format; the message lists the choices.
    """
    if not isinstance(format, str) or format not in FORMATS:
        raise InvalidArgumentError(
            f"Unknown export format {format!r}. Choose one of: {', '.join(FORMATS)}. "
            f"Received: {_received('format', format)}"
        )
    return format


def check_output_path(path: str | os.PathLike, format: str | None = None) -> Path:
    """Refuses an output path the export cannot write without overwriting something.

    Args:
        path: Where the artifact goes: a folder for ``tf_saved_model``, a file otherwise.
        format: If given, also checks the file name ending that the format requires.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OutputExistsError: If ``path`` exists (a file, a folder, even an empty one, or a link).
        InvalidArgumentError: If a parent of ``path`` is a file, or the name does not end as
            the format requires.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidTypeError(f"path must be a str or a path. Received: path={path!r}")
    path = Path(path)
    if str(path) in ("", ".") or path.name in ("", ".", ".."):
        raise InvalidArgumentError(
            f"The output path must name a new file or folder. Received: {_received('path', path)}"
        )
    if path.exists() or path.is_symlink():
        raise OutputExistsError(
            f"{str(path)!r} already exists; remove it or choose another path "
            f"(an export never overwrites). Received: {_received('path', path)}"
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidArgumentError(
                    f"{str(path)!r} cannot be created: {str(parent)!r} is a file, not a folder. "
                    f"Received: {_received('path', path)}"
                )
            break
    if format is not None:
        suffix = SUFFIXES.get(format)
        if suffix is not None and path.suffix.lower() != suffix:
            raise InvalidArgumentError(
                f"A {format} export is one file whose name ends in {suffix}, "
                f"e.g. {str(path.with_suffix(suffix))!r}. Received: {_received('path', path)}"
            )
        if suffix is None and path.suffix.lower() in SUFFIXES.values():
            other = next(f for f, s in SUFFIXES.items() if s == path.suffix.lower())
            raise InvalidArgumentError(
                f"A {format} export is a folder, but {str(path)!r} is named like a {other} "
                f"file: choose {_received('format', other)} or a folder name. "
                f"Received: {_received('path', path)}"
            )
    return path


def check_packages(format: str, backend: str | None = None) -> None:
    """Raises if a package that ``format`` needs on the Keras ``backend`` is missing.

    Args:
        format: One of :data:`FORMATS`.
        backend: A Keras backend name; ``None`` reads ``keras.backend.backend()``.

    Raises:
        MissingExportPackageError: Naming the ``pip install`` command that fixes it.
        InvalidArgumentError: If Keras cannot export ``format`` on this backend at all.
    """
    check_format(format)
    if backend is None:
        import keras

        backend = keras.backend.backend()
    if format == "litert" and backend not in _LITERT_BACKENDS:
        raise InvalidArgumentError(
            f"Keras exports LiteRT only on the TensorFlow or PyTorch backend, not {backend}: "
            f"set KERAS_BACKEND=tensorflow. Received: {_received('format', format)}, "
            f"backend={backend!r}"
        )
    missing = [
        package
        for module, package in _REQUIRED.get((format, backend), ())
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        install = f"pip install {' '.join(missing)}"
        if set(missing) <= _IN_EXTRA:
            install = f"{EXTRA} (or {install})"
        raise MissingExportPackageError(
            f"{format} export on the {backend} backend needs {' and '.join(missing)}, "
            f"not installed here: {install}. Received: {_received('format', format)}"
        )


def export_model(
    name: str,
    path: str | os.PathLike,
    *,
    format: str = "tf_saved_model",
    weights: str | os.PathLike | None = None,
    **load_options: Any,
) -> Path:
    """Builds a zoo model and exports it with Keras's ``model.export`` for inference.

    The artifact takes raw RGB pixels in 0-255 (the model's preprocessing layer is part of it)
    as ``float32`` of shape ``(batch, 32, 32, 3)`` and returns class probabilities, or what
    ``load_options`` ask for instead: features for ``include_top=False``, logits for
    ``classifier_activation=None``. An INFO log line reports the input and output it wrote
    (see :func:`describe_output`).

    Args:
        name: A name from :func:`keras_cifar_zoo.list_models`.
        path: Where to write: a new folder for ``"tf_saved_model"``, a new ``.onnx`` file for
            ``"onnx"``, a new ``.tflite`` file for ``"litert"``. Missing parent folders are
            created; an existing ``path`` is refused, never overwritten.
        format: ``"tf_saved_model"`` (default), ``"onnx"`` or ``"litert"``.
        weights: What :func:`keras_cifar_zoo.load_model` takes: ``None`` (random
            initialisation), ``"cifar10"``, ``"cifar10:<tag>"``, ``"imagenet"`` or a path.
        **load_options: Passed to :func:`keras_cifar_zoo.load_model`: ``num_classes``,
            ``input_shape``, ``include_preprocessing`` and the weights options (``hub_dir``,
            ``cache_dir``, ``local_files_only``, ...).

    Returns:
        ``path`` as a :class:`~pathlib.Path`, holding the complete artifact.

    Raises:
        InvalidArgumentError: For an unknown format (the message lists the choices), a path
            whose name does not fit the format, or a path below a file.
        OutputExistsError: If ``path`` exists already.
        OutputWriteError: If the artifact cannot be written (a read-only folder, a full disk,
            a file in the way); nothing is left at ``path``.
        UnknownModelError: If ``name`` is not registered.
        MissingExportPackageError: If the format needs a package that is not installed.

    Example:
        >>> export_model("resnet20_v1", "resnet20_savedmodel", weights="cifar10")  # doctest: +SKIP
        PosixPath('resnet20_savedmodel')
    """
    check_format(format)
    path = check_output_path(path, format)

    import keras

    from keras_cifar_zoo.zoo import load_model, model_info

    model_info(name)  # an unknown name is refused before packages, weights or building
    check_packages(format, keras.backend.backend())
    start = time.perf_counter()
    model = load_model(name, weights=weights, **load_options)
    # Keras's ONNX exporter refuses a model that was never called, as a freshly built
    # functional model is: one forward pass on a black image marks it as called.
    model(keras.ops.zeros((1, *model.input_shape[1:]), dtype=model.input_dtype), training=False)
    with _writing(path, format):
        path.parent.mkdir(parents=True, exist_ok=True)
        with _staged(path) as staging:
            try:
                with warnings.catch_warnings():
                    # Keras's tf2onnx patch probes np.object, which NumPy 2 warns about.
                    warnings.filterwarnings("ignore", r".*np\.object", FutureWarning)
                    model.export(str(staging), format=format, verbose=False)
            except ImportError as exc:  # a package Keras needs that check_packages does not know
                reason = str(exc).rstrip(". ")
                raise MissingExportPackageError(
                    f"{format} export needs a package that is not installed: {reason}. "
                    f"Received: {_received('format', format)}"
                ) from exc
            if not (staging.exists() or staging.is_symlink()):
                raise ZooError(f"Keras wrote nothing for the {format} export of {name}.")
    logger.info(
        "Exported %s (weights=%s) as %s to %s in %.1f s: it takes raw RGB pixels (float32, "
        "shape %s) and returns %s",
        name,
        weights,
        format,
        path,
        time.perf_counter() - start,
        _shape(model.input_shape),
        describe_output(model, load_options),
    )
    return path


def _shape(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("batch" if n is None else str(n) for n in shape) + ")"


def describe_output(model: Any, load_options: dict[str, Any]) -> str:
    """What an exported ``model`` returns, e.g. ``"class probabilities, shape (batch, 10)"``.

    A model built with ``include_top=False`` returns features and one with
    ``classifier_activation=None`` logits, not the class probabilities an export of a zoo
    model is assumed to return: the report has to say so.
    """
    shape = _shape(model.output_shape)
    if not load_options.get("include_top", True):
        pooling = load_options.get("pooling")
        kind = f"{pooling}-pooled features" if pooling else "feature maps"
        return f"{kind}, shape {shape}, not class probabilities (include_top=False)"
    activation = load_options.get("classifier_activation", "softmax")
    if activation is None:
        return f"logits, shape {shape}, not class probabilities (classifier_activation=None)"
    if activation != "softmax":
        return f"class scores of a {activation} classifier, shape {shape}"
    return f"class probabilities, shape {shape}"


@contextlib.contextmanager
def _writing(path: Path, format: str) -> Any:
    """Turns an ``OSError`` from writing the artifact into an :class:`OutputWriteError`."""
    try:
        yield
    except ZooError:
        raise
    except OSError as exc:
        where = f" ({_outside_staging(exc.filename, path)})" if exc.filename else ""
        raise OutputWriteError(
            f"Cannot write the {format} export to {str(path)!r}: {exc.strerror or exc}{where}; "
            f"{write_failure_fix(exc)}. Nothing was left at {str(path)!r}. "
            f"Received: {_received('path', path)}"
        ) from exc


def _outside_staging(filename: Any, path: Path) -> str:
    """``filename``, or the folder of ``path`` if it lies in the export's temporary sibling:
    the user knows the folder, not the temporary name."""
    parts = Path(str(filename)).parts
    if any(p.startswith(f".{path.name}.") and p.endswith(".partial") for p in parts):
        return str(path.parent)
    return str(filename)


@contextlib.contextmanager
def _staged(path: Path) -> Any:
    """Yields a path in a temporary sibling folder of ``path``; moves it to ``path`` on success.

    On any error (or an interrupt) the temporary folder is removed and ``path`` stays absent.
    """
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        staging = folder / path.name
        yield staging
        if path.exists() or path.is_symlink():  # created while the export ran
            raise OutputExistsError(
                f"{str(path)!r} appeared while the export ran; remove it or choose another "
                f"path (an export never overwrites). Received: {_received('path', path)}"
            )
        os.rename(staging, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
