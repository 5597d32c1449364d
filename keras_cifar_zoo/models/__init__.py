"""Model families. Each declares its variants as :class:`ModelSpec` records in ``MODELS``."""

from keras_cifar_zoo.models import cnn, resnet9, resnet_v1, vgg
from keras_cifar_zoo.models.spec import ModelSpec

ALL_MODELS: tuple[ModelSpec, ...] = (
    *cnn.MODELS,
    *resnet_v1.MODELS,
    *vgg.MODELS,
    *resnet9.MODELS,
)
"""Every registered variant; :mod:`keras_cifar_zoo.registry` indexes them by name."""
