"""What users rely on: code carried by value, and clear errors for what is not carried."""

from __future__ import annotations

import pickle
import re
import sys
import threading
import types
import uuid
from typing import Any

import cloudpickle
import pytest

from plait.interfaces.serializer import frame, unframe
from plait.plugins import registry
from plait_cloudpickle import CloudpickleSerializer


@pytest.fixture
def serializer() -> CloudpickleSerializer:
    return CloudpickleSerializer()


def round_trip(serializer: CloudpickleSerializer, obj: Any) -> Any:
    return serializer.deserialize(serializer.serialize(obj))


def test_registered_as_cloudpickle() -> None:
    assert registry("serializer").get("cloudpickle") is CloudpickleSerializer


def test_instance_of_a_locally_defined_class(serializer: CloudpickleSerializer) -> None:
    """Lambdas and closures are the kit's (SER-101); a class defined in a function body
    travels by value too."""

    class Account:
        def __init__(self, owner: str, balance: int) -> None:
            self.owner = owner
            self.balance = balance

        def deposit(self, amount: int) -> int:
            self.balance += amount
            return self.balance

    back = round_trip(serializer, Account("ada", 100))
    assert type(back).__name__ == "Account"
    assert back.owner == "ada"
    assert back.deposit(5) == 105


SCRIPT = """
RATE = 4

def helper(x):
    return x + 1

def work(x):
    return helper(x) * RATE
"""


def run_script(name: str) -> types.ModuleType:
    """A module made from SCRIPT, as ``python script.py`` makes ``__main__``."""
    module = types.ModuleType(name)
    exec(compile(SCRIPT, f"<{name}>", "exec"), module.__dict__)
    return module


def test_function_of_main_travels_by_value(
    serializer: CloudpickleSerializer, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = run_script("__main__")
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "__main__", script)
        payload = frame(serializer, script.work)
    # decoded where __main__ is another program, as on a worker
    assert sys.modules["__main__"] is not script
    back = unframe(payload, [serializer])
    assert back(2) == 12
    assert back.__module__ == "__main__"


def test_function_of_a_module_the_worker_lacks_travels_by_value(
    serializer: CloudpickleSerializer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module importable here but not on the worker: registered for pickling by
    value, its functions decode after it is gone."""
    name = f"plait_cloudpickle_test_{uuid.uuid4().hex}"
    module = run_script(name)
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, name, module)
        cloudpickle.register_pickle_by_value(module)
        try:
            payload = serializer.serialize(module.work)
        finally:
            cloudpickle.unregister_pickle_by_value(module)
    assert name not in sys.modules
    back = serializer.deserialize(payload)
    assert back(2) == 12
    assert name not in sys.modules, "decoding must not import the module"


@pytest.mark.parametrize(
    ("obj", "type_name"),
    [
        (threading.Lock(), "_thread.lock"),
        ({"results": [1, threading.Lock()]}, "_thread.lock"),
        ((i for i in range(3)), "generator"),
    ],
    ids=["lock", "lock inside data", "generator"],
)
def test_uncarriable_object_raises_naming_its_type(
    serializer: CloudpickleSerializer, obj: Any, type_name: str
) -> None:
    with pytest.raises(Exception, match=re.escape(type_name)) as info:
        serializer.serialize(obj)
    assert isinstance(info.value, (TypeError, ValueError, pickle.PicklingError))
    assert round_trip(serializer, [1, "two"]) == [1, "two"], "the instance stays usable"
