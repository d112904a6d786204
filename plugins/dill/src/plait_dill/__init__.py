"""plait-dill: serialize functions by value with dill."""

from plait_dill.serializer import DillSerializer

__all__ = ["DillSerializer"]
