"""Where plait keeps its Globus tokens, which collections they were consented for, and
the command that fixes what is missing.

The token file is globus-sdk's own JSON token storage format (``JSONTokenStorage``,
format 2.0), written by :class:`PlaitTokenStorage`: each write replaces the file
atomically with a new one created with mode 0600, under a lock per file, without
touching the process's umask (the SDK's storage sets the umask around its writes, which
would change the mode of files other threads create meanwhile). Next to the tokens, the
file keeps plait's consent record under the key ``"plait"``: the client id the tokens
were issued to, the collections whose ``data_access`` consent the last login asked for,
and the collections a transfer found missing since (``needed``), which the next
``plait globus login`` asks for too.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import globus_sdk
from globus_sdk import UserApp
from globus_sdk.authorizers import GlobusAuthorizer
from globus_sdk.globus_app import GlobusAppConfig
from globus_sdk.login_flows import LoginFlowManager
from globus_sdk.scopes import GCSCollectionScopes, Scope, TransferScopes
from globus_sdk.token_storage import JSONTokenStorage, TokenStorageData

from plait_globus_transfer.settings import APP_NAME, RECORD_KEY, TRANSFER_RS, ConsentRecord

__all__ = [
    "APP_NAME",
    "TRANSFER_RS",
    "ConsentRecord",
    "LockedAuthorizer",
    "NoInteractiveLogin",
    "close",
    "PlaitTokenStorage",
    "data_access_scope",
    "make_app",
    "transfer_scope",
]


def data_access_scope(collection: str) -> Scope:
    """The ``data_access`` scope of a Globus Connect Server v5 mapped collection, as a
    dependency of the Transfer scope (optional, as Transfer itself asks for it)."""
    return GCSCollectionScopes(collection).data_access.with_optional(True)


def transfer_scope(collections: Iterable[str] = ()) -> Scope:
    """``transfer.api.globus.org:all`` with a dependent ``data_access`` scope for each of
    ``collections``."""
    ids = sorted(set(collections))
    if not ids:
        return TransferScopes.all
    return TransferScopes.all.with_dependencies([data_access_scope(c) for c in ids])


# --- the token file ------------------------------------------------------------------


_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_LOCK = threading.Lock()


def _lock_for(path: str) -> threading.RLock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(path, threading.RLock())


class PlaitTokenStorage(JSONTokenStorage):
    """globus-sdk's JSON token storage, written atomically with mode 0600 and safe to
    use from several threads (one lock per file in this process), plus plait's
    :class:`ConsentRecord`."""

    def __init__(self, filepath: str) -> None:
        super().__init__(filepath)
        self._lock = _lock_for(os.path.abspath(self.filepath))

    def _ensure_containing_dir_exists(self) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.filepath)), mode=0o700, exist_ok=True)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        """The file's data to change in place; written back when the block ends."""
        with self._lock:
            data: dict[str, Any] = dict(self._load())
            yield data
            data["globus-sdk.version"] = globus_sdk.__version__
            self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        directory = os.path.dirname(os.path.abspath(self.filepath))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        # mkstemp creates the file with mode 0600: the tokens are never readable by others
        fd, tmp = tempfile.mkstemp(prefix=".globus-tokens-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.filepath)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def store_token_data_by_resource_server(self, token_data_by_resource_server: Any) -> None:
        with self._changing() as data:
            namespace = data["data"].setdefault(self.namespace, {})
            for resource_server, token_data in token_data_by_resource_server.items():
                namespace[resource_server] = token_data.to_dict()

    def get_token_data_by_resource_server(self) -> dict[str, TokenStorageData]:
        with self._lock:
            return super().get_token_data_by_resource_server()

    def remove_token_data(self, resource_server: str) -> bool:
        with self._changing() as data:
            popped = data["data"].get(self.namespace, {}).pop(resource_server, None)
        return popped is not None

    def record(self) -> ConsentRecord:
        """plait's consent record (empty when the file has none)."""
        with self._lock:
            try:
                raw = self._raw_load()
            except FileNotFoundError:
                return ConsentRecord()
            return ConsentRecord.from_dict(raw.get(RECORD_KEY))

    def update_record(
        self,
        *,
        client_id: str | None = None,
        consented: Iterable[str] | None = None,
        needed: Iterable[str] | None = None,
        add_needed: Iterable[str] = (),
        drop_consented: Iterable[str] = (),
    ) -> ConsentRecord:
        """Change the record: replace ``client_id``, ``consented`` or ``needed`` when
        given, add ``add_needed`` to the needed and drop ``drop_consented`` from the
        consented collections. Returns the new record."""
        with self._changing() as data:
            old = ConsentRecord.from_dict(data.get(RECORD_KEY))
            new_consented = set(old.consented if consented is None else consented)
            new_consented -= set(drop_consented)
            new_needed = set(old.needed if needed is None else needed) | set(add_needed)
            record = ConsentRecord(
                client_id=old.client_id if client_id is None else client_id,
                consented=frozenset(new_consented),
                needed=frozenset(new_needed - new_consented),
            )
            data[RECORD_KEY] = record.to_dict()
        return record

    def delete(self) -> bool:
        """Remove the file; False when there was none."""
        with self._lock:
            try:
                os.remove(self.filepath)
            except FileNotFoundError:
                return False
            return True


# --- the app -----------------------------------------------------------------------


class NoInteractiveLogin(LoginFlowManager):
    """The login flow of the stager's app: it never logs in (it runs on the kernel's
    staging threads, with nobody to answer); :mod:`plait_globus_transfer.stager` turns a
    missing login into ``GlobusLoginRequiredError`` with the command to run."""

    @classmethod
    def for_globus_app(
        cls, app_name: str, login_client: globus_sdk.AuthLoginClient, config: GlobusAppConfig
    ) -> NoInteractiveLogin:
        return cls(login_client, request_refresh_tokens=config.request_refresh_tokens)

    def run_login_flow(self, auth_parameters: Any) -> globus_sdk.OAuthTokenResponse:
        raise globus_sdk.GlobusSDKUsageError(
            "plait's Globus stager never starts a login: run `plait globus login`"
        )


def make_app(
    client_id: str,
    storage: PlaitTokenStorage,
    *,
    collections: Iterable[str] = (),
    login_flow: Any = NoInteractiveLogin,
) -> UserApp:
    """globus-sdk's ``UserApp`` for plait: refresh tokens kept in ``storage``, scope
    requirement Transfer with the ``data_access`` scopes of ``collections``, no login
    started on a token problem (``token_validation_error_handler=None``)."""
    config = GlobusAppConfig(
        login_flow_manager=login_flow,
        token_storage=storage,
        request_refresh_tokens=True,
        token_validation_error_handler=None,
    )
    return UserApp(
        APP_NAME,
        client_id=client_id,
        scope_requirements={TRANSFER_RS: [transfer_scope(collections)]},
        config=config,
    )


class LockedAuthorizer(GlobusAuthorizer):
    """A globus-sdk authorizer used by one thread at a time: the refresh token
    authorizer refreshes and stores tokens without a lock of its own, so several staging
    threads finding the access token expired would each refresh it."""

    def __init__(self, inner: GlobusAuthorizer) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def get_authorization_header(self) -> str | None:
        with self._lock:
            return self._inner.get_authorization_header()

    def handle_missing_authorization(self) -> bool:
        with self._lock:
            return self._inner.handle_missing_authorization()


def close(resource: Any) -> None:
    """Close a globus-sdk client or app (their ``close`` came after globus-sdk 4.0)."""
    closer = getattr(resource, "close", None)
    if callable(closer):
        closer()
