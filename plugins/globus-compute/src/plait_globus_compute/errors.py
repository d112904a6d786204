"""The errors of this executor, from plait's error model (:mod:`plait.errors`)."""

from plait.errors import EndpointOfflineError, EndpointVersionMismatchError, PayloadTooLargeError

__all__ = ["EndpointOfflineError", "EndpointVersionMismatchError", "PayloadTooLargeError"]
