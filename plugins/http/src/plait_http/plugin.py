"""Entry point ``http``: registers the HTTP(S)/FTP stager."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_http.stager import HttpStager


@hookimpl
def plait_register_stagers(registry: Registry) -> None:
    registry.add("http", HttpStager)
