"""keras-cifar-zoo: Keras 3 models for CIFAR-10 from five articles, with their recipes."""

from keras_cifar_zoo import models as _models  # noqa: F401  (registers every model)
from keras_cifar_zoo.data import CLASS_NAMES, load_cifar10
from keras_cifar_zoo.errors import (
    CorruptDatasetError,
    DatasetNotFoundError,
    HubError,
    IntegrityError,
    InvalidArgumentError,
    InvalidInputShapeError,
    InvalidNumClassesError,
    InvalidTypeError,
    ManifestError,
    TrainingDivergedError,
    UnknownModelError,
    UnknownRecipeError,
    WeightsMismatchError,
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
from keras_cifar_zoo.weights import LoadReport, download_weights, load_weights

__version__ = "0.1.0"

__all__ = [
    "CLASS_NAMES",
    "Augmentation",
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
    "ModelInfo",
    "Predictions",
    "Preprocessing",
    "Recipe",
    "Schedule",
    "TrainingDivergedError",
    "UnknownModelError",
    "UnknownRecipeError",
    "WeightsMismatchError",
    "WeightsNotAvailableError",
    "ZooError",
    "download_weights",
    "evaluate",
    "fit_cifar10",
    "get_recipe",
    "list_models",
    "list_recipes",
    "load_cifar10",
    "load_model",
    "load_weights",
    "model_info",
    "predict",
]
