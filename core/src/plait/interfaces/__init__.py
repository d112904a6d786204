"""Abstract base classes every component implements, and the types they share."""

from plait.concurrency import LightFuture
from plait.interfaces.component import MATURITY_LEVELS, Component
from plait.interfaces.error_reporter import ErrorContext, ErrorReporter
from plait.interfaces.executor import Executor, ScalingExecutor
from plait.interfaces.launcher import Launcher, MpiLaunch
from plait.interfaces.provider import ExecutionProvider
from plait.interfaces.serializer import Serializer, frame, identifier_of, unframe
from plait.interfaces.stager import Stager
from plait.interfaces.types import (
    EMPTY_RESOURCES,
    Capacity,
    JobState,
    JobStatus,
    ResourceSpecification,
    TaskDescription,
    parse_walltime,
)

__all__ = [
    "EMPTY_RESOURCES",
    "MATURITY_LEVELS",
    "Capacity",
    "Component",
    "ErrorContext",
    "ErrorReporter",
    "ExecutionProvider",
    "Executor",
    "JobState",
    "JobStatus",
    "Launcher",
    "LightFuture",
    "MpiLaunch",
    "ResourceSpecification",
    "ScalingExecutor",
    "Serializer",
    "Stager",
    "TaskDescription",
    "frame",
    "identifier_of",
    "parse_walltime",
    "unframe",
]
