"""Model architectures; importing this package registers them all in ``MODELS``."""

from . import cnn, cnn1d, mlp, module, resnet, transformer  # noqa: F401  (registration)
from .base import MODELS

__all__ = ["MODELS"]
