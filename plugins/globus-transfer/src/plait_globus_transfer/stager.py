"""GlobusTransferStager: ``globus://COLLECTION/path`` inputs and outputs moved by Globus
Transfer between their collection and the collection holding the executor's working
directory.

::

    stage_in (kernel staging thread, submitting process)
      tokens + consent record (token file) --> fail fast: PLT-411 / PLT-410
      get_endpoint (once per collection)   --> which collections need data_access
      operation_stat(source)               --> PLT-204 when missing
      submit_transfer(source -> executor collection : mapped workdir/<name>)
      get_task ... until SUCCEEDED / FAILED / timeout

Stage-out is the same in the other direction, after ``operation_stat`` of the task's
output on the executor's collection (PLT-205 when the task did not write it).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import posixpath
import re
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

import attrs

from plait.data.files import File
from plait.data.roots import check_within
from plait.errors import (
    ConfigError,
    ConsentRequiredError,
    GlobusLoginRequiredError,
    MissingInputFileError,
    MissingOutputsError,
    PlaitError,
    StagingError,
    StagingPathError,
    TransferPermissionError,
)
from plait.interfaces import Stager
from plait.validators import AttrsField, flag, positive_number
from plait_globus_transfer import settings

if TYPE_CHECKING:
    from plait_globus_transfer.settings import ConsentRecord
    from plait_globus_transfer.tokens import PlaitTokenStorage

logger = logging.getLogger(__name__)

SYNC_LEVELS = ("exists", "size", "mtime", "checksum")
FIRST_POLL_WAIT = 1.0
"""Seconds before the second status poll; the wait doubles up to ``poll_interval``."""
FATAL_FAULTS = ("FILE_NOT_FOUND", "PERMISSION_DENIED")
"""Faults of an ACTIVE task that Globus would retry until its deadline, but that a retry
does not fix: the task is cancelled and the error raised at once."""
PERMISSION_CODES = ("PermissionDenied", "EndpointPermissionDenied")
MAPPED_COLLECTION = "GCSv5_mapped_collection"
_LABEL_CHARS = re.compile(r"[^A-Za-z0-9 _.,-]")


# --- options ---------------------------------------------------------------------------


def _uuid(value: Any, name: str, hint: str) -> str | None:
    if value is None:
        return None
    try:
        return settings.canonical_uuid(value)
    except ValueError:
        raise ConfigError(
            f"GlobusTransferStager.{name}={value!r} is not a UUID", hint=hint, option=name
        ) from None


def _collection_id(value: Any) -> str | None:
    """The ``collection`` converter."""
    return _uuid(
        value,
        "collection",
        "copy the collection's id from app.globus.org (File Manager, or Collections)",
    )


def _client_id(value: Any) -> str | None:
    """The ``client_id`` converter."""
    return _uuid(value, "client_id", settings.NO_CLIENT_ID_HINT)


def _collections(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(
            f"GlobusTransferStager.mapped_collections={value!r} must be a list of collection ids",
            option="mapped_collections",
        )
    try:
        return sorted({settings.canonical_uuid(v) for v in value})
    except ValueError:
        raise ConfigError(
            f"GlobusTransferStager.mapped_collections={value!r} holds something that is not a UUID",
            option="mapped_collections",
        ) from None


def _absolute(instance: Any, attribute: AttrsField, value: Any) -> None:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ConfigError(
            f"GlobusTransferStager.{attribute.name}={value!r} must be an absolute path "
            "(starting with /)",
            option=attribute.name,
        )


def _sync_level(instance: Any, attribute: AttrsField, value: Any) -> None:
    if value is not None and value not in SYNC_LEVELS:
        raise ConfigError(
            f"GlobusTransferStager.sync_level={value!r} must be one of {', '.join(SYNC_LEVELS)}",
            hint="or leave it unset to transfer every time",
            option="sync_level",
        )


def _str_list(instance: Any, attribute: AttrsField, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"GlobusTransferStager.{attribute.name}={value!r} must be a list of paths",
            option=attribute.name,
        )


def _optional_path(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ConfigError(
            f"GlobusTransferStager.token_path={value!r} must be a path", option="token_path"
        )
    return os.fspath(value)


def _label_prefix(instance: Any, attribute: AttrsField, value: Any) -> None:
    if not isinstance(value, str):
        raise ConfigError(
            f"GlobusTransferStager.label_prefix={value!r} must be a str", option="label_prefix"
        )


# --- per-process state ---------------------------------------------------------------------


@attrs.define(eq=False)
class _Session:
    """A Transfer client authorized by the stored refresh token."""

    client_id: str
    token_path: str
    refresh_token: str
    storage: PlaitTokenStorage
    app: Any
    transfer: Any


class _Runtime:
    """What a stager builds lazily: its session and what it learnt of collections. Not
    pickled: a copy starts empty."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.session: _Session | None = None
        self.needs_consent: dict[str, bool] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Runtime, ())


@attrs.define(frozen=True)
class _Place:
    """A path on a collection."""

    collection: str
    path: str

    def __str__(self) -> str:
        return f"{self.collection}:{self.path}"


# --- the stager ------------------------------------------------------------------------


@attrs.define(eq=False)
class GlobusTransferStager(Stager):
    """``globus://COLLECTION_ID/absolute/path`` files moved by Globus Transfer to and from
    the collection holding the executor's working directory (``collection``), where a
    task's path ``local_root/x`` is ``collection_root/x``.

    Calls run in the submitting process (mode ``separate``) and never log in: tokens
    come from ``plait globus login`` (token file ``token_path``), and a missing login or
    consent raises the error whose hint is the command to run.
    """

    collection: str | None = attrs.field(default=None, converter=_collection_id)
    collection_root: str = attrs.field(default="/", validator=_absolute)
    local_root: str = attrs.field(default="/", validator=_absolute)
    mapped_collections: list[str] | None = attrs.field(default=None, converter=_collections)
    client_id: str | None = attrs.field(default=None, converter=_client_id)
    token_path: str | None = attrs.field(default=None, converter=_optional_path)
    poll_interval: float = attrs.field(
        default=10.0, validator=positive_number(unit="number of seconds")
    )
    timeout: float | None = attrs.field(
        default=86400.0, validator=positive_number(optional=True, unit="number of seconds")
    )
    sync_level: str | None = attrs.field(default=None, validator=_sync_level)
    verify_checksum: bool = attrs.field(default=True, validator=flag)
    notify: bool = attrs.field(default=False, validator=flag)
    allowed_roots: list[str] = attrs.field(factory=list, validator=_str_list)
    label_prefix: str = attrs.field(default="plait", validator=_label_prefix)
    _runtime: _Runtime = attrs.field(factory=_Runtime, init=False, repr=False, eq=False)

    schemes: ClassVar[frozenset[str]] = frozenset({"globus"})
    modes: ClassVar[frozenset[str]] = frozenset({"separate"})
    capabilities: ClassVar[frozenset[str]] = frozenset({"stage_out"})
    maturity: ClassVar[str] = "alpha"
    conformance_kit: ClassVar[str | None] = (
        "plait_globus_transfer.conformance:GlobusTransferConformance"
    )

    # --- the interface --------------------------------------------------------------------

    def stage_in(self, file: File, workdir: str) -> File:
        source = self._remote(file)
        local = self.local_path(file, workdir)
        target = _Place(self._executor_collection(file.url), self._on_collection(local, file.url))
        session = self._session(file.url)
        self._check_consents(session, file.url, [source.collection, target.collection])
        stat = self._stat(session, file.url, source, MissingInputFileError)
        if stat is None:
            raise MissingInputFileError(
                f"input file {file.url} does not exist (no {source.path} on collection "
                f"{source.collection})",
                path=source.path,
                url=file.url,
            )
        if stat.get("type") == "dir":
            raise StagingError(
                f"cannot stage {file.url}: it is a directory; list its files as inputs",
                url=file.url,
            )
        try:
            self._transfer(session, file.url, "in", source, target, MissingInputFileError)
        except BaseException:
            _remove_partial(local)
            raise
        staged = File(file.url)
        staged.local_path = local
        return staged

    def stage_out(self, file: File, workdir: str) -> None:
        target = self._remote(file)
        local = file.local_path if file.local_path is not None else self.local_path(file, workdir)
        source = _Place(self._executor_collection(file.url), self._on_collection(local, file.url))
        session = self._session(file.url)
        self._check_consents(session, file.url, [source.collection, target.collection])
        stat = self._stat(session, file.url, source, MissingOutputsError)
        if stat is None or stat.get("type") == "dir":
            raise MissingOutputsError(
                f"output file {file.url} was not written: no file {local} (path "
                f"{source.path} on the executor's collection {source.collection})",
                missing=[local],
                url=file.url,
            )
        self._transfer(session, file.url, "out", source, target, MissingOutputsError)

    # --- paths ---------------------------------------------------------------------------

    def _remote(self, file: File) -> _Place:
        """The collection and path a ``globus://`` URL names, checked."""
        try:
            collection = settings.canonical_uuid(file.netloc)
        except ValueError:
            raise StagingError(
                f"{file.url} does not name a collection: write globus://COLLECTION_ID/path "
                "with the collection's UUID",
                url=file.url,
            ) from None
        path = posixpath.normpath(unquote(file.path)) if file.path else ""
        if not path.startswith("/") or path == "/":
            raise StagingError(
                f"{file.url} needs an absolute path to a file on the collection "
                "(globus://COLLECTION_ID/dir/file)",
                url=file.url,
            )
        check_within(path, self.allowed_roots, file.url, local=False)
        return _Place(collection, path)

    def _executor_collection(self, url: str) -> str:
        if self.collection is None:
            raise StagingError(
                f"cannot stage {url}: the globus-transfer stager has no `collection`, the "
                "Globus collection holding the executor's working directory",
                hint='add collection = "<collection id>" (and collection_root, local_root '
                "when its root is not /) to the executor's staging entry for globus-transfer",
                url=url,
            )
        return self.collection

    def _on_collection(self, path: str, url: str) -> str:
        """The path on ``collection`` of a path the executor's workers see."""
        task_path = posixpath.normpath(path.replace(os.sep, "/"))
        root = posixpath.normpath(self.local_root)
        if root != "/" and task_path != root and not task_path.startswith(root + "/"):
            raise StagingPathError(
                f"cannot stage {url}: the task's path {path} is outside local_root "
                f"{self.local_root}, so it has no place on the collection {self.collection}",
                hint="set local_root to a directory holding the executor's working_dir, and "
                "collection_root to where that directory is on the collection",
                path=path,
                url=url,
            )
        relative = posixpath.relpath(task_path, root)
        if relative == ".":
            return posixpath.normpath(self.collection_root)
        return posixpath.join(posixpath.normpath(self.collection_root), relative)

    # --- tokens and consents --------------------------------------------------------------

    def _client_id(self, url: str) -> str:
        client_id = settings.resolve_client_id(self.client_id)
        if client_id is None:
            raise StagingError(
                f"cannot stage {url}: no Globus client id for plait",
                hint=settings.NO_CLIENT_ID_HINT,
                url=url,
            )
        return client_id

    def _login_hint(self, collections: Iterable[str] = ()) -> str:
        command = settings.login_command(
            collections, token_path=self.token_path, client_id=self.client_id
        )
        return f"run `{command}` (a login in a browser; tokens are kept in the token file)"

    def _known_mapped(self, collections: Iterable[str]) -> list[str]:
        if self.mapped_collections is None:
            return []
        return [c for c in collections if c in self.mapped_collections]

    def _session(self, url: str) -> _Session:
        """The Transfer client of the stored tokens (built again after a new login)."""
        from plait_globus_transfer import tokens

        client_id = self._client_id(url)
        path = settings.resolve_token_path(self.token_path)
        if not os.path.exists(path):
            raise GlobusLoginRequiredError(
                f"cannot stage {url}: no Globus tokens for plait in {path}",
                hint=self._login_hint(self._known_mapped(self.mapped_collections or ())),
                url=url,
            )
        runtime = self._runtime
        with runtime.lock:
            session = runtime.session
            storage = (
                session.storage
                if session is not None and session.token_path == path
                else tokens.PlaitTokenStorage(path)
            )
            try:
                data = storage.get_token_data(settings.TRANSFER_RS)
                record = storage.record()
            except (OSError, ValueError) as exc:
                raise GlobusLoginRequiredError(
                    f"cannot stage {url}: the Globus token file {path} cannot be read ({exc})",
                    hint=self._login_hint(),
                    url=url,
                ) from exc
            if data is None or not data.refresh_token:
                raise GlobusLoginRequiredError(
                    f"cannot stage {url}: no Globus tokens for plait in {path}",
                    hint=self._login_hint(self._known_mapped(self.mapped_collections or ())),
                    url=url,
                )
            if record.client_id is not None and record.client_id != client_id:
                raise GlobusLoginRequiredError(
                    f"cannot stage {url}: the Globus tokens in {path} were issued to the "
                    f"client id {record.client_id}, not to {client_id}",
                    hint=self._login_hint(),
                    url=url,
                )
            if (
                session is not None
                and session.token_path == path
                and session.client_id == client_id
                and session.refresh_token == data.refresh_token
            ):
                return session
            session = self._new_session(client_id, path, storage, data.refresh_token, url)
            runtime.session = session
            return session

    def _new_session(
        self,
        client_id: str,
        path: str,
        storage: PlaitTokenStorage,
        refresh_token: str,
        url: str,
    ) -> _Session:
        import globus_sdk
        from globus_sdk.token_storage import TokenValidationError

        from plait_globus_transfer import tokens

        app = tokens.make_app(client_id, storage)
        try:
            authorizer = app.get_authorizer(settings.TRANSFER_RS)
        except TokenValidationError as exc:
            raise GlobusLoginRequiredError(
                f"cannot stage {url}: the Globus tokens in {path} cannot be used ({exc})",
                hint=self._login_hint(),
                url=url,
            ) from exc
        transfer = globus_sdk.TransferClient(
            authorizer=tokens.LockedAuthorizer(authorizer), app_name=settings.APP_NAME
        )
        return _Session(client_id, path, refresh_token, storage, app, transfer)

    def _forget_session(self, session: _Session) -> None:
        with self._runtime.lock:
            if self._runtime.session is session:
                self._runtime.session = None

    def _needs_data_access(self, session: _Session, collection: str, url: str) -> bool:
        """Whether Transfer needs the collection's ``data_access`` consent: a Globus
        Connect Server v5 mapped collection that is not high assurance (from
        ``mapped_collections``, else asked once of Transfer)."""
        if self.mapped_collections is not None:
            return collection in self.mapped_collections
        with self._runtime.lock:
            known = self._runtime.needs_consent.get(collection)
        if known is not None:
            return known
        with self._api_errors(session, url, [collection]):
            doc = session.transfer.get_endpoint(collection)
        needs = doc.get("entity_type") == MAPPED_COLLECTION and not doc.get("high_assurance")
        with self._runtime.lock:
            self._runtime.needs_consent[collection] = needs
        return needs

    def _check_consents(self, session: _Session, url: str, collections: list[str]) -> None:
        """Fail before anything starts when the login did not cover a collection of this
        transfer that needs ``data_access``."""
        needing = sorted({c for c in collections if self._needs_data_access(session, c, url)})
        if not needing:
            return
        record = session.storage.record()
        missing = record.missing(needing, session.client_id)
        if not missing:
            return
        record = session.storage.update_record(add_needed=missing)
        raise self._consent_error(url, sorted(missing), record, None)

    def _consent_error(
        self,
        url: str,
        missing: list[str],
        record: ConsentRecord,
        required_scopes: list[str] | None,
    ) -> ConsentRequiredError:
        from plait_globus_transfer import tokens

        scopes = required_scopes or [str(tokens.transfer_scope(missing))]
        everything = sorted(set(missing) | set(record.needed))
        others = sorted(set(everything) - set(missing))
        also = f" (also missing, from earlier transfers: {', '.join(others)})" if others else ""
        source = (
            "Globus Transfer answered ConsentRequired"
            if required_scopes
            else ("the stored Globus login has no consent")
        )
        return ConsentRequiredError(
            f"cannot stage {url}: {source} for the data_access scope of collection(s) "
            f"{', '.join(missing)}{also}; required scopes: {' '.join(scopes)}",
            hint=self._login_hint(everything),
            url=url,
            collections=everything,
            required_scopes=scopes,
        )

    # --- calls -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _api_errors(
        self,
        session: _Session,
        url: str,
        collections: list[str],
        missing: type[PlaitError] | None = None,
    ) -> Iterator[None]:
        """Turn what globus-sdk raises into plait's staging errors naming ``url``."""
        import globus_sdk
        from globus_sdk.token_storage import TokenValidationError

        try:
            yield
        except PlaitError:
            raise
        except globus_sdk.AuthAPIError as exc:
            # a refresh of the access token failed (the refresh token expired or was
            # revoked: invalid_grant)
            self._forget_session(session)
            error = (exc.raw_json or {}).get("error") if isinstance(exc.raw_json, dict) else None
            raise GlobusLoginRequiredError(
                f"cannot stage {url}: Globus Auth refused to refresh the stored tokens "
                f"({error or exc.code or exc.http_status}: the login expired or was revoked)",
                hint=self._login_hint(),
                url=url,
            ) from exc
        except globus_sdk.GlobusAPIError as exc:
            raise self._transfer_error(session, exc, url, collections, missing) from exc
        except TokenValidationError as exc:
            self._forget_session(session)
            raise GlobusLoginRequiredError(
                f"cannot stage {url}: the stored Globus tokens cannot be used ({exc})",
                hint=self._login_hint(),
                url=url,
            ) from exc
        except globus_sdk.NetworkError as exc:
            raise StagingError(
                f"cannot stage {url}: Globus could not be reached ({exc})", url=url
            ) from exc

    def _transfer_error(
        self,
        session: _Session,
        exc: Any,
        url: str,
        collections: list[str],
        missing: type[PlaitError] | None,
    ) -> PlaitError:
        code = exc.code or ""
        message = " ".join(str(exc.message or exc.text or "").split())[:500]
        if exc.info.consent_required or code == "ConsentRequired":
            scopes = list(exc.info.consent_required.required_scopes)
            named = settings.collections_in_scopes(scopes)
            if not named:
                named = [c for c in collections if self._needs_data_access(session, c, url)]
            record = session.storage.update_record(add_needed=named, drop_consented=named)
            return self._consent_error(url, named or collections, record, scopes)
        if exc.http_status == 401:
            self._forget_session(session)
            return GlobusLoginRequiredError(
                f"cannot stage {url}: Globus Transfer did not accept the stored login "
                f"({code}: {message})",
                hint=self._login_hint(),
                url=url,
            )
        if code in PERMISSION_CODES or code.endswith("PermissionDenied"):
            return TransferPermissionError(
                f"cannot stage {url}: permission denied on collection "
                f"{', '.join(collections)} ({code}: {message})",
                url=url,
                code=code,
            )
        if "EndpointNotFound" in code:
            return StagingError(
                f"cannot stage {url}: Globus Transfer knows no collection "
                f"{', '.join(collections)} ({code}: {message})",
                hint="check the collection id in the URL and the stager's `collection` option",
                url=url,
                code=code,
            )
        if missing is not None and (exc.http_status == 404 or code.endswith("NotFound")):
            return missing(f"{url} does not exist ({code}: {message})", url=url)
        return StagingError(
            f"cannot stage {url}: Globus Transfer refused ({exc.http_status} {code}: {message})",
            url=url,
            code=code,
        )

    def _stat(
        self, session: _Session, url: str, place: _Place, missing: type[PlaitError]
    ) -> dict[str, Any] | None:
        """``operation_stat`` of ``place``; None when there is nothing there."""
        import globus_sdk

        with self._api_errors(session, url, [place.collection], missing):
            try:
                response = session.transfer.operation_stat(place.collection, place.path)
            except globus_sdk.GlobusAPIError as exc:
                if exc.http_status == 404 and "EndpointNotFound" not in (exc.code or ""):
                    return None
                raise
        data: dict[str, Any] = dict(response.data or {})
        return data

    def _label(self, direction: str, url: str) -> str:
        name = posixpath.basename(url.rstrip("/")) or url
        label = f"{self.label_prefix} stage-{direction} {name}".strip()
        return _LABEL_CHARS.sub("_", label)[:128]

    def _transfer(
        self,
        session: _Session,
        url: str,
        direction: str,
        source: _Place,
        target: _Place,
        missing: type[PlaitError],
    ) -> None:
        """Submit one transfer and wait for it."""
        import globus_sdk

        collections = sorted({source.collection, target.collection})
        options: dict[str, Any] = {
            "label": self._label(direction, url),
            "verify_checksum": self.verify_checksum,
            "fail_on_quota_errors": True,
            "notify_on_succeeded": self.notify,
            "notify_on_failed": self.notify,
            "notify_on_inactive": self.notify,
        }
        if self.sync_level is not None:
            options["sync_level"] = self.sync_level
        if self.timeout is not None:
            deadline = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                seconds=self.timeout + 60
            )
            options["deadline"] = deadline.strftime("%Y-%m-%d %H:%M:%S+00:00")
        data = globus_sdk.TransferData(source.collection, target.collection, **options)
        data.add_item(source.path, target.path)
        with self._api_errors(session, url, collections, missing):
            task_id = str(session.transfer.submit_transfer(data)["task_id"])
        logger.debug("Globus Transfer task %s: %s -> %s (%s)", task_id, source, target, url)
        self._wait(session, url, task_id, source, target, missing)

    def _wait(
        self,
        session: _Session,
        url: str,
        task_id: str,
        source: _Place,
        target: _Place,
        missing: type[PlaitError],
    ) -> None:
        collections = sorted({source.collection, target.collection})
        start = time.monotonic()
        wait = min(FIRST_POLL_WAIT, self.poll_interval)
        what = f"Globus Transfer task {task_id} ({source} -> {target}) for {url}"
        while True:
            with self._api_errors(session, url, collections, missing):
                task = session.transfer.get_task(task_id)
            status = task.get("status")
            if status == "SUCCEEDED":
                return
            nice = task.get("nice_status")
            if status == "FAILED":
                fatal = task.get("fatal_error") or {}
                raise self._task_error(
                    url,
                    what,
                    str(fatal.get("code") or nice or "FAILED"),
                    str(fatal.get("description") or task.get("nice_status_details") or ""),
                    missing,
                    task_id,
                    collections,
                )
            if status == "INACTIVE" or nice in FATAL_FAULTS:
                self._cancel(session, task_id)
                if status == "INACTIVE":
                    raise GlobusLoginRequiredError(
                        f"cannot stage {url}: {what} became INACTIVE ({nice}: "
                        f"{task.get('nice_status_short_description') or ''}); it was cancelled",
                        hint=self._login_hint(
                            [c for c in collections if self._needs_data_access(session, c, url)]
                        ),
                        url=url,
                        task_id=task_id,
                    )
                raise self._task_error(
                    url,
                    what,
                    str(nice),
                    str(
                        task.get("nice_status_details")
                        or task.get("nice_status_short_description")
                        or ""
                    ),
                    missing,
                    task_id,
                    collections,
                )
            elapsed = time.monotonic() - start
            if self.timeout is not None and elapsed >= self.timeout:
                self._cancel(session, task_id)
                raise StagingError(
                    f"cannot stage {url}: {what} did not finish in {self.timeout:g} s "
                    f"(status {status}, {nice or 'no fault'}); it was cancelled",
                    hint="raise the stager's timeout for large files or slow collections",
                    url=url,
                    task_id=task_id,
                )
            pause = wait if self.timeout is None else min(wait, self.timeout - elapsed)
            time.sleep(max(pause, 0.0))
            wait = min(wait * 2, self.poll_interval)

    def _task_error(
        self,
        url: str,
        what: str,
        code: str,
        reason: str,
        missing: type[PlaitError],
        task_id: str,
        collections: list[str],
    ) -> PlaitError:
        reason = " ".join(reason.split())[:500]
        text = f"{code}: {reason}" if reason else code
        if code == "FILE_NOT_FOUND":
            return missing(
                f"{url} does not exist: {what} failed ({text})", url=url, task_id=task_id
            )
        if code == "PERMISSION_DENIED":
            return TransferPermissionError(
                f"cannot stage {url}: permission denied on collection "
                f"{', '.join(collections)}: {what} failed ({text})",
                url=url,
                task_id=task_id,
            )
        return StagingError(f"cannot stage {url}: {what} failed ({text})", url=url, task_id=task_id)

    def _cancel(self, session: _Session, task_id: str) -> None:
        try:
            session.transfer.cancel_task(task_id)
        except Exception as exc:  # the error being raised matters more
            logger.warning("could not cancel Globus Transfer task %s: %s", task_id, exc)


def _remove_partial(path: str) -> None:
    """Remove what a failed transfer left at ``path``, when this machine sees it (the
    executor shares its file system)."""
    with contextlib.suppress(OSError):
        if os.path.isfile(path):
            os.remove(path)
