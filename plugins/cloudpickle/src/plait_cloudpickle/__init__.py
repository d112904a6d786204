"""plait-cloudpickle: serialize functions by value with cloudpickle."""

from plait_cloudpickle.serializer import CloudpickleSerializer

__all__ = ["CloudpickleSerializer"]
