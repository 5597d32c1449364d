"""``python -m keras_cifar_zoo``: the same command line as ``keras-cifar-zoo``."""

import sys

from keras_cifar_zoo.cli import main

if __name__ == "__main__":
    sys.exit(main())
