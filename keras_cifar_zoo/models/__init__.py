"""Model families; importing this package registers every model."""

from keras_cifar_zoo.models import cnn, fast, resnet, vgg  # noqa: F401
