"""keras-cifar-zoo: Keras 3 models for CIFAR-10 from five articles, with their recipes."""

from keras_cifar_zoo import models as _models  # noqa: F401  (registers every model)
from keras_cifar_zoo.data import CLASS_NAMES, load_cifar10
from keras_cifar_zoo.errors import (
    CorruptDatasetError,
    DatasetNotFoundError,
    InvalidArgumentError,
    InvalidInputShapeError,
    InvalidNumClassesError,
    InvalidTypeError,
    TrainingDivergedError,
    UnknownModelError,
    UnknownRecipeError,
    WeightsNotAvailableError,
    ZooError,
)
from keras_cifar_zoo.preprocessing import ImagePreprocessing, Preprocessing
from keras_cifar_zoo.registry import ModelInfo, list_models, load_model, model_info
from keras_cifar_zoo.training import (
    Augmentation,
    Predictions,
    Recipe,
    Schedule,
    evaluate,
    fit_cifar10,
    get_recipe,
    list_recipes,
    predict,
)

__version__ = "0.1.0"

__all__ = [
    "CLASS_NAMES",
    "Augmentation",
    "CorruptDatasetError",
    "DatasetNotFoundError",
    "ImagePreprocessing",
    "InvalidArgumentError",
    "InvalidInputShapeError",
    "InvalidNumClassesError",
    "InvalidTypeError",
    "ModelInfo",
    "Predictions",
    "Preprocessing",
    "Recipe",
    "Schedule",
    "TrainingDivergedError",
    "UnknownModelError",
    "UnknownRecipeError",
    "WeightsNotAvailableError",
    "ZooError",
    "evaluate",
    "fit_cifar10",
    "get_recipe",
    "list_models",
    "list_recipes",
    "load_cifar10",
    "load_model",
    "model_info",
    "predict",
]
