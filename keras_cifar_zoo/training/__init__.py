"""Training, evaluation and prediction with each model's documented recipe."""

from keras_cifar_zoo.training.evaluation import Predictions, evaluate, predict
from keras_cifar_zoo.training.fit import fit, fit_cifar10
from keras_cifar_zoo.training.recipes import (
    Augmentation,
    Recipe,
    Schedule,
    WeightAveraging,
    get_recipe,
    list_recipes,
)

__all__ = [
    "Augmentation",
    "Predictions",
    "Recipe",
    "Schedule",
    "WeightAveraging",
    "evaluate",
    "fit",
    "fit_cifar10",
    "get_recipe",
    "list_recipes",
    "predict",
]
