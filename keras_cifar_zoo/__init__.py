"""keras-cifar-zoo: Keras 3 models for CIFAR-10 from five articles, with their recipes.

Importing the package is cheap: each public name is imported from its module on first use,
so that ``keras-cifar-zoo --help`` (and any import that needs only the error types) does not
start Keras and TensorFlow. ``from keras_cifar_zoo import load_model`` works as usual.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from keras_cifar_zoo.errors import (
    CheckpointBusyError,
    CheckpointWriteError,
    CorruptCheckpointError,
    CorruptDatasetError,
    DatasetNotFoundError,
    HubError,
    IntegrityError,
    InvalidArgumentError,
    InvalidInputShapeError,
    InvalidNumClassesError,
    InvalidTypeError,
    ManifestError,
    MissingExportPackageError,
    ModelOutputError,
    OutputExistsError,
    OutputWriteError,
    PixelRangeError,
    PlanError,
    PublishError,
    TrainingDivergedError,
    UnknownModelError,
    UnknownRecipeError,
    WeightsMismatchError,
    WeightsNotAvailableError,
    ZooError,
)

if TYPE_CHECKING:  # what type checkers and the API docs read; at run time see __getattr__
    from keras_cifar_zoo.data import (
        CIFAR100_COARSE_NAMES,
        CIFAR100_FINE_NAMES,
        CLASS_NAMES,
        decode_predictions,
        load_cifar10,
        load_cifar100,
        load_images,
    )
    from keras_cifar_zoo.preprocessing import ImagePreprocessing, Preprocessing
    from keras_cifar_zoo.registry import ModelInfo
    from keras_cifar_zoo.training import (
        Augmentation,
        Predictions,
        Recipe,
        Schedule,
        WeightAveraging,
        evaluate,
        fit,
        fit_cifar10,
        get_recipe,
        list_recipes,
        predict,
    )
    from keras_cifar_zoo.weights import LoadReport, download_weights, load_weights
    from keras_cifar_zoo.zoo import list_models, load_model, model_info

__version__ = "0.1.0"

_LAZY = {
    "CLASS_NAMES": "keras_cifar_zoo.data",
    "load_cifar10": "keras_cifar_zoo.data",
    "load_cifar100": "keras_cifar_zoo.data",
    "load_images": "keras_cifar_zoo.data",
    "decode_predictions": "keras_cifar_zoo.data",
    "CIFAR100_FINE_NAMES": "keras_cifar_zoo.data",
    "CIFAR100_COARSE_NAMES": "keras_cifar_zoo.data",
    "ImagePreprocessing": "keras_cifar_zoo.preprocessing",
    "Preprocessing": "keras_cifar_zoo.preprocessing",
    "ModelInfo": "keras_cifar_zoo.registry",
    "list_models": "keras_cifar_zoo.zoo",
    "load_model": "keras_cifar_zoo.zoo",
    "model_info": "keras_cifar_zoo.zoo",
    "Augmentation": "keras_cifar_zoo.training",
    "Predictions": "keras_cifar_zoo.training",
    "Recipe": "keras_cifar_zoo.training",
    "Schedule": "keras_cifar_zoo.training",
    "WeightAveraging": "keras_cifar_zoo.training",
    "evaluate": "keras_cifar_zoo.training",
    "fit": "keras_cifar_zoo.training",
    "fit_cifar10": "keras_cifar_zoo.training",
    "get_recipe": "keras_cifar_zoo.training",
    "list_recipes": "keras_cifar_zoo.training",
    "predict": "keras_cifar_zoo.training",
    "LoadReport": "keras_cifar_zoo.weights",
    "download_weights": "keras_cifar_zoo.weights",
    "load_weights": "keras_cifar_zoo.weights",
}
"""Public name -> the module it is imported from on first use."""

__all__ = [
    "CIFAR100_COARSE_NAMES",
    "CIFAR100_FINE_NAMES",
    "CLASS_NAMES",
    "Augmentation",
    "CheckpointBusyError",
    "CheckpointWriteError",
    "CorruptCheckpointError",
    "CorruptDatasetError",
    "DatasetNotFoundError",
    "HubError",
    "ImagePreprocessing",
    "IntegrityError",
    "InvalidArgumentError",
    "InvalidInputShapeError",
    "InvalidNumClassesError",
    "InvalidTypeError",
    "LoadReport",
    "ManifestError",
    "MissingExportPackageError",
    "ModelInfo",
    "ModelOutputError",
    "OutputExistsError",
    "OutputWriteError",
    "PixelRangeError",
    "PlanError",
    "Predictions",
    "Preprocessing",
    "PublishError",
    "Recipe",
    "Schedule",
    "TrainingDivergedError",
    "UnknownModelError",
    "UnknownRecipeError",
    "WeightAveraging",
    "WeightsMismatchError",
    "WeightsNotAvailableError",
    "ZooError",
    "decode_predictions",
    "download_weights",
    "evaluate",
    "fit",
    "fit_cifar10",
    "get_recipe",
    "list_models",
    "list_recipes",
    "load_cifar10",
    "load_cifar100",
    "load_images",
    "load_model",
    "load_weights",
    "model_info",
    "predict",
]


def __getattr__(name: str) -> Any:
    """Imports a public name (or a submodule such as ``keras_cifar_zoo.training``) on first use."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
