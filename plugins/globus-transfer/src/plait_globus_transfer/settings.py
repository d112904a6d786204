"""Names, paths and command lines of plait's Globus login, without importing globus-sdk
(the stager module imports this when plait loads its plugins; globus-sdk is imported on
first use)."""

from __future__ import annotations

import os
import re
import shlex
import sys
import uuid
from collections.abc import Iterable
from typing import Any

import attrs

APP_NAME = "plait"
"""The app name Globus Auth shows in its consent screen (with this host's name)."""
CLIENT_ID_ENV = "PLAIT_GLOBUS_CLIENT_ID"
"""The environment variable holding the native app client id, when not configured."""
TOKEN_FILE = "globus-tokens.json"
TRANSFER_RS = "transfer.api.globus.org"
"""Globus Transfer's resource server: the key of its tokens in the token file."""
RECORD_KEY = "plait"

_DATA_ACCESS = re.compile(
    r"https://auth\.globus\.org/scopes/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/data_access"
)


def default_token_path() -> str:
    """``$XDG_CONFIG_HOME/plait/globus-tokens.json`` (``~/.config/plait/...`` when the
    variable is unset; ``%APPDATA%\\plait\\...`` on Windows)."""
    if sys.platform == "win32":  # pragma: no cover - not tested here
        base = os.environ.get("APPDATA") or os.path.expanduser(r"~\AppData\Roaming")
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return os.path.join(base, "plait", TOKEN_FILE)


def resolve_token_path(path: str | None) -> str:
    """``path`` (``~`` expanded, made absolute), or :func:`default_token_path`."""
    chosen = default_token_path() if path is None else os.path.expanduser(path)
    return os.path.abspath(chosen)


def resolve_client_id(client_id: str | None) -> str | None:
    """``client_id``, else the value of ``PLAIT_GLOBUS_CLIENT_ID``, else None."""
    return client_id or os.environ.get(CLIENT_ID_ENV) or None


def canonical_uuid(value: Any) -> str:
    """``value`` as canonical UUID text; ValueError when it is not a UUID."""
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


NO_CLIENT_ID_HINT = (
    "register a native app at https://app.globus.org/settings/developers (Register a "
    "thick client or script that will be installed and run by users on their devices), "
    f"then export {CLIENT_ID_ENV}=<its client id>, or set the stager's client_id option"
)


def collections_in_scopes(scopes: Iterable[str]) -> list[str]:
    """The collection ids of the ``data_access`` scopes named in ``scopes`` (scope strings,
    e.g. a ConsentRequired answer's ``required_scopes``), sorted."""
    found = {m.group(1).lower() for scope in scopes for m in _DATA_ACCESS.finditer(scope)}
    return sorted(found)


def login_command(
    collections: Iterable[str] = (), *, token_path: str | None = None, client_id: str | None = None
) -> str:
    """The ``plait globus login`` command line that asks for ``collections``' consents,
    with ``--client-id`` and ``--token-path`` when they are not the defaults the command
    would use by itself."""
    words = ["plait", "globus", "login"]
    for collection in sorted(set(collections)):
        words += ["--collection", collection]
    if client_id is not None and client_id != os.environ.get(CLIENT_ID_ENV):
        words += ["--client-id", client_id]
    if token_path is not None and resolve_token_path(token_path) != resolve_token_path(None):
        words += ["--token-path", resolve_token_path(token_path)]
    return shlex.join(words)


@attrs.frozen
class ConsentRecord:
    """plait's record in the token file."""

    client_id: str | None = None
    """The native app client id the stored tokens were issued to."""
    consented: frozenset[str] = frozenset()
    """Collections whose ``data_access`` consent the last login asked for."""
    needed: frozenset[str] = frozenset()
    """Collections a transfer found without consent since that login."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "consented": sorted(self.consented),
            "needed": sorted(self.needed),
        }

    @classmethod
    def from_dict(cls, data: Any) -> ConsentRecord:
        if not isinstance(data, dict):
            return cls()
        client_id = data.get("client_id")
        return cls(
            client_id=client_id if isinstance(client_id, str) else None,
            consented=frozenset(c for c in data.get("consented") or () if isinstance(c, str)),
            needed=frozenset(c for c in data.get("needed") or () if isinstance(c, str)),
        )

    def missing(self, collections: Iterable[str], client_id: str) -> set[str]:
        """Those of ``collections`` the stored tokens were not consented for (all of them
        when the tokens are another client's)."""
        wanted = set(collections)
        if self.client_id != client_id:
            return wanted
        return wanted - self.consented
