"""An example plait serializer: plain data as MessagePack."""

from plait_example_msgpack.serializer import MsgpackSerializer

__all__ = ["MsgpackSerializer"]
