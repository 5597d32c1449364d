"""keras-cifar-zoo: Keras 3 models for CIFAR-10 from five articles, with their recipes."""

from keras_cifar_zoo import models as _models  # noqa: F401  (registers every model)
from keras_cifar_zoo.errors import (
    InvalidArgumentError,
    InvalidInputShapeError,
    InvalidNumClassesError,
    InvalidTypeError,
    UnknownModelError,
    WeightsNotAvailableError,
    ZooError,
)
from keras_cifar_zoo.preprocessing import ImagePreprocessing, Preprocessing
from keras_cifar_zoo.registry import ModelInfo, list_models, load_model, model_info

__version__ = "0.1.0"

__all__ = [
    "ImagePreprocessing",
    "InvalidArgumentError",
    "InvalidInputShapeError",
    "InvalidNumClassesError",
    "InvalidTypeError",
    "ModelInfo",
    "Preprocessing",
    "UnknownModelError",
    "WeightsNotAvailableError",
    "ZooError",
    "list_models",
    "load_model",
    "model_info",
]
