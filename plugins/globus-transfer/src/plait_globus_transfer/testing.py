"""An offline stand-in for Globus Auth and Globus Transfer, answering globus-sdk's real
clients through ``responses`` (needs the ``test`` extra:
``pip install plait-globus-transfer[test]``).

What is real: globus-sdk's ``TransferClient`` (requests, retries on 401 with a token
refresh, error parsing into ``TransferAPIError`` with ``info.consent_required``),
``TransferData``, ``UserApp`` with its ``ValidatingTokenStorage`` and validators, the
``RefreshTokenAuthorizer`` (refresh through the token endpoint, ``on_refresh`` storage),
the login flow managers (the command line flow's authorize URL with PKCE and the code
exchange; the local server flow's server receiving the redirect), the ``IDTokenDecoder``
checking the id_token's RS512 signature against the JWK set, scope building and parsing.

What is replaced, and only that: the services' HTTP answers (:class:`FakeGlobus`). Its
bodies are those globus-sdk ships in ``globus_sdk.testing`` (``transfer.operation_stat``
``default``/``not_found``/``permission_denied``, ``transfer.submit_transfer``,
``transfer.get_endpoint``, ``transfer.task_list``, ``auth.oauth2_revoke_token``,
``auth.oauth2_exchange_code_for_tokens`` ``invalid_grant``), filled in by callbacks with
the state of the stand-in: collections (each a local directory; a collection path
``base/x`` is ``root/x``, and a transfer copies the file between the directories, so a
test reads the real content after staging), the user's ``data_access`` consents, the
tokens issued, refreshed and revoked, and the tasks (done at once, or after some polls,
failing, or stuck on a fault). The OpenID configuration and JWK set are registered
``RegisteredResponse`` objects; id_tokens are signed with a key made for the run.
"""

from __future__ import annotations

import copy
import itertools
import json
import posixpath
import re
import shutil
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs
import jwt
import responses
from globus_sdk.config import get_service_url
from globus_sdk.testing import RegisteredResponse, get_response_set

from plait_globus_transfer.settings import TRANSFER_RS, collections_in_scopes

CLIENT_ID = "4c8bd5b2-41b6-4a1e-9fd1-1d5e0c3a7f10"
"""The stand-in's native app client id."""
IDENTITY_ID = "e5c2a0f4-7b9d-4d6f-8a2b-3c1d9e8f7a60"
"""The identity that logs in."""
USERNAME = "researcher@example.org"
TRANSFER_SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"
AUTH_RS = "auth.globus.org"
TOKEN_LIFETIME = 172800
"""Seconds an access token lives (Globus Auth's 48 hours)."""
KINDS: dict[str, tuple[str, bool]] = {
    "mapped": ("GCSv5_mapped_collection", False),
    "high-assurance": ("GCSv5_mapped_collection", True),
    "guest": ("GCSv5_guest_collection", False),
    "gcsv4": ("GCSv4_host", False),
}
"""Kinds of collection: ``entity_type`` and ``high_assurance`` Transfer reports. Only
``mapped`` ones need the user's ``data_access`` consent."""

Reply = tuple[int, dict[str, str], str]

_KEY_LOCK = threading.Lock()
_KEY: list[Any] = []


def _signing_key() -> Any:
    """The RSA key id_tokens are signed with (made once per process)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    with _KEY_LOCK:
        if not _KEY:
            _KEY.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _KEY[0]


def _reply(status: int, body: Any) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(body)


def _fixture(set_id: str, case: str = "default") -> Any:
    """A body globus-sdk ships in ``globus_sdk.testing`` (a copy to fill in)."""
    response = get_response_set(set_id).lookup(case)
    assert isinstance(response, RegisteredResponse)
    return copy.deepcopy(response.json)


def _form(request: Any) -> dict[str, str]:
    body = request.body or ""
    if isinstance(body, bytes):
        body = body.decode()
    return {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}


def _query(request: Any, name: str) -> str | None:
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query).get(name)
    return values[0] if values else None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


@attrs.define
class Collection:
    """A collection of the stand-in: paths under ``base`` are files under ``root``."""

    id: str
    root: Path
    kind: str = "mapped"
    base: str = "/"
    denied: list[str] = attrs.field(factory=list)
    """Path prefixes the user may not read or write."""

    @property
    def needs_consent(self) -> bool:
        return self.kind == "mapped"

    def local(self, path: str) -> Path | None:
        """The file standing for ``path`` (None when outside ``base``)."""
        path = posixpath.normpath(path)
        base = posixpath.normpath(self.base)
        if base != "/" and path != base and not path.startswith(base + "/"):
            return None
        return self.root / posixpath.relpath(path, base)

    def refused(self, path: str) -> bool:
        path = posixpath.normpath(path)
        if self.local(path) is None:
            return True
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.denied)


class FakeGlobus:
    """Globus Auth and Globus Transfer as globus-sdk calls them, for the collections
    added to it. Use as a context manager (the ``responses`` mock is active inside)."""

    def __init__(self, *, client_id: str = CLIENT_ID, identity_id: str = IDENTITY_ID) -> None:
        self.client_id = client_id
        self.identity_id = identity_id
        self.collections: dict[str, Collection] = {}
        self.consents: set[str] = set()
        """Collections whose ``data_access`` scope the user consented to."""
        self.access_tokens: dict[str, tuple[str, float]] = {}
        """Access token -> (resource server, expiry)."""
        self.refresh_tokens: dict[str, str] = {}
        """Refresh token -> resource server."""
        self.revoked: set[str] = set()
        self.refreshes = 0
        self.logins = 0
        self.tasks: dict[str, dict[str, Any]] = {}
        self.submissions: list[dict[str, Any]] = []
        self.cancelled: list[str] = []
        self.task_failure: tuple[str, str] | None = None
        """``(code, description)``: the next tasks FAIL with this fatal error."""
        self.task_fault: str | None = None
        """A fault (``FILE_NOT_FOUND``, ``PERMISSION_DENIED`` ...) the next tasks stay
        ACTIVE with, as Transfer retries them until their deadline."""
        self.polls_before_done = 0
        """Status polls a task stays ACTIVE for before it runs."""
        self.hang = False
        """Tasks stay ACTIVE (queued) until cancelled."""
        self.inactive = False
        """Tasks go INACTIVE (Transfer suspends a task whose credentials or consents
        expired) until cancelled."""
        self._pending: dict[str, int] = {}
        self._by_submission: dict[str, str] = {}
        self._codes: dict[str, list[str]] = {}
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self._register()

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> FakeGlobus:
        self.mock.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.mock.stop()
        self.mock.reset()

    # --- setting up -----------------------------------------------------------------------

    def add_collection(self, root: Path, kind: str = "mapped", base: str = "/") -> str:
        """A new collection whose files are under ``root`` (created); its id."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}")
        collection_id = str(uuid.uuid4())
        root.mkdir(parents=True, exist_ok=True)
        self.collections[collection_id] = Collection(collection_id, root, kind, base)
        return collection_id

    def deny(self, collection: str, path: str) -> None:
        """Refuse the user every path under ``path`` on ``collection``."""
        self.collections[collection].denied.append(path)

    def issue_tokens(
        self,
        token_path: str | Path,
        *,
        collections: Iterable[str] = (),
        expired: bool = False,
    ) -> None:
        """Write the token file a ``plait globus login --collection ...`` for
        ``collections`` would leave (the user consented to them); ``expired``: the
        access tokens expired an hour ago (their refresh tokens still work)."""
        from globus_sdk.token_storage import TokenStorageData

        from plait_globus_transfer.tokens import PlaitTokenStorage

        wanted = sorted(collections)
        with self._lock:
            self.consents.update(wanted)
            issued = self._issue([AUTH_RS, TRANSFER_RS], lifetime=-3600 if expired else None)
        storage = PlaitTokenStorage(str(token_path))
        storage.store_token_data_by_resource_server(
            {
                rs: TokenStorageData(
                    resource_server=rs,
                    identity_id=self.identity_id,
                    scope=token["scope"],
                    access_token=token["access_token"],
                    refresh_token=token["refresh_token"],
                    expires_at_seconds=int(time.time()) + token["expires_in"],
                    token_type="Bearer",
                )
                for rs, token in issued.items()
            }
        )
        storage.update_record(client_id=self.client_id, consented=wanted, needed=())

    def authorize(self, collections: Iterable[str] = ()) -> str:
        """The authorization code Globus Auth shows a user who logged in and consented
        to ``collections``' ``data_access`` (for the command line flow); the consents
        take effect when the code is exchanged."""
        scope = TRANSFER_SCOPE
        ids = sorted(collections)
        if ids:
            inner = " ".join(f"*https://auth.globus.org/scopes/{c}/data_access" for c in ids)
            scope = f"{TRANSFER_SCOPE}[{inner}]"
        code = f"code-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            self._codes[code] = ["openid", scope]
        return code

    def browser(self, url: str) -> None:
        """A browser for the local server login flow: the user logs in and consents to
        what ``url`` asks for, and Globus Auth redirects the browser to the flow's local
        server with the code (sent with ``urllib``, which ``responses`` lets through)."""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        code = f"code-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            self._codes[code] = query.get("scope", "").split(" ")
        params = {"code": code, "state": query.get("state", "")}
        target = f"{query['redirect_uri']}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(target, timeout=10) as answer:
            answer.read()

    def revoke_consent(self, collection: str) -> None:
        """The user revoked a collection's consent (on app.globus.org)."""
        with self._lock:
            self.consents.discard(collection)

    def expire_refresh_tokens(self) -> None:
        """Every refresh token stops working (expired after months without use, or
        revoked): Globus Auth answers ``invalid_grant``."""
        with self._lock:
            self.refresh_tokens.clear()
            self.access_tokens.clear()

    def expire_access_tokens(self) -> None:
        """The service stops accepting the current access tokens (their refresh tokens
        still work)."""
        with self._lock:
            self.access_tokens.clear()

    def requests_to(self, pattern: str) -> list[Any]:
        """The requests whose URL matches ``pattern`` (a regular expression)."""
        return [c.request for c in self.mock.calls if re.search(pattern, c.request.url or "")]

    # --- routes -----------------------------------------------------------------------------

    def _register(self) -> None:
        auth = get_service_url("auth")
        transfer = get_service_url("transfer") + "v0.10/"
        RegisteredResponse(
            path=auth + ".well-known/openid-configuration",
            json={
                "issuer": "https://auth.globus.org",
                "authorization_endpoint": auth + "v2/oauth2/authorize",
                "token_endpoint": auth + "v2/oauth2/token",
                "jwks_uri": auth + "jwk.json",
                "id_token_signing_alg_values_supported": ["RS512"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
            },
        ).add(requests_mock=self.mock)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(_signing_key().public_key()))
        jwk.update({"alg": "RS512", "use": "sig", "kid": "stand-in"})
        RegisteredResponse(path=auth + "jwk.json", json={"keys": [jwk]}).add(
            requests_mock=self.mock
        )
        routes: list[tuple[str, str, Callable[..., Reply]]] = [
            ("POST", auth + "v2/oauth2/token/revoke", self._revoke),
            ("POST", auth + "v2/oauth2/token", self._token),
            ("GET", transfer + r"endpoint/([^/?]+)", self._endpoint),
            ("GET", transfer + r"operation/endpoint/([^/?]+)/stat", self._stat),
            ("GET", transfer + r"submission_id", self._submission_id),
            ("POST", transfer + r"transfer", self._submit),
            ("GET", transfer + r"task/([^/?]+)", self._task),
            ("POST", transfer + r"task/([^/?]+)/cancel", self._cancel),
        ]
        for method, url, handler in routes:
            pattern = re.compile(_escape(url))
            self.mock.add_callback(method, pattern, callback=self._guard(pattern, handler))

    def _guard(self, pattern: re.Pattern[str], handler: Callable[..., Reply]) -> Any:
        def callback(request: Any) -> Reply:
            match = pattern.match(request.url.split("?", 1)[0])
            assert match is not None
            if request.url.startswith(get_service_url("transfer")):
                refused = self._check_token(request)
                if refused is not None:
                    return refused
            with self._lock:
                return handler(request, *match.groups())

        return callback

    # --- Globus Auth ------------------------------------------------------------------------

    def _issue(
        self, resource_servers: Iterable[str], lifetime: int | None = None
    ) -> dict[str, dict[str, Any]]:
        issued = {}
        life = TOKEN_LIFETIME if lifetime is None else lifetime
        for rs in resource_servers:
            access, refresh = f"at-{uuid.uuid4().hex}", f"rt-{uuid.uuid4().hex}"
            self.access_tokens[access] = (rs, time.time() + life)
            self.refresh_tokens[refresh] = rs
            issued[rs] = {
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": life,
                "resource_server": rs,
                "scope": "openid" if rs == AUTH_RS else TRANSFER_SCOPE,
                "token_type": "Bearer",
            }
        return issued

    def _id_token(self) -> str:
        now = int(time.time())
        claims = {
            "sub": self.identity_id,
            "aud": self.client_id,
            "iss": "https://auth.globus.org",
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "preferred_username": USERNAME,
            "identity_provider_display_name": "Example University",
        }
        return jwt.encode(claims, _signing_key(), algorithm="RS512", headers={"kid": "stand-in"})

    def _invalid_grant(self) -> Reply:
        response = get_response_set("auth.oauth2_exchange_code_for_tokens").lookup("invalid_grant")
        assert isinstance(response, RegisteredResponse)
        return _reply(response.status, response.json)

    def _token(self, request: Any) -> Reply:
        form = _form(request)
        grant = form.get("grant_type")
        if grant == "refresh_token":
            rs = self.refresh_tokens.get(form.get("refresh_token", ""))
            if rs is None:
                return self._invalid_grant()
            self.refreshes += 1
            access = f"at-{uuid.uuid4().hex}"
            self.access_tokens[access] = (rs, time.time() + TOKEN_LIFETIME)
            body = _fixture("auth.oauth2_exchange_code_for_tokens")
            body.update(
                access_token=access,
                refresh_token=form["refresh_token"],
                expires_in=TOKEN_LIFETIME,
                resource_server=rs,
                scope="openid" if rs == AUTH_RS else TRANSFER_SCOPE,
                other_tokens=[],
            )
            body.pop("state", None)
            return _reply(200, body)
        if grant == "authorization_code":
            scopes = self._codes.pop(form.get("code", ""), None)
            if scopes is None:
                return self._invalid_grant()
            self.logins += 1
            self.consents.update(collections_in_scopes(scopes))
            issued = self._issue([AUTH_RS, TRANSFER_RS])
            body = dict(issued[AUTH_RS], id_token=self._id_token(), state="_default")
            body["other_tokens"] = [issued[TRANSFER_RS]]
            return _reply(200, body)
        return _reply(400, {"error": "unsupported_grant_type"})

    def _revoke(self, request: Any) -> Reply:
        token = _form(request).get("token", "")
        self.revoked.add(token)
        self.access_tokens.pop(token, None)
        self.refresh_tokens.pop(token, None)
        return _reply(200, _fixture("auth.oauth2_revoke_token"))

    # --- Globus Transfer ----------------------------------------------------------------------

    def _check_token(self, request: Any) -> Reply | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        with self._lock:
            known = self.access_tokens.get(token)
        if known is None or known[0] != TRANSFER_RS or known[1] < time.time():
            return _reply(
                401,
                {
                    "code": "AuthenticationFailed",
                    "message": "Token is not active",
                    "request_id": uuid.uuid4().hex[:9],
                    "resource": urllib.parse.urlsplit(request.url).path,
                },
            )
        return None

    def _error(self, status: int, code: str, message: str, request: Any, **extra: Any) -> Reply:
        body = {
            "code": code,
            "message": message,
            "request_id": uuid.uuid4().hex[:9],
            "resource": urllib.parse.urlsplit(request.url).path,
            **extra,
        }
        return _reply(status, body)

    def _unknown(self, collection: str, request: Any) -> Reply:
        return self._error(
            404, "EndpointNotFound", f"No such collection with id '{collection}'", request
        )

    def _consent_missing(self, collections: Iterable[str], request: Any) -> Reply | None:
        missing = sorted(
            c for c in collections if self.collections[c].needs_consent and c not in self.consents
        )
        if not missing:
            return None
        inner = " ".join(f"*https://auth.globus.org/scopes/{c}/data_access" for c in missing)
        scopes = [f"{TRANSFER_SCOPE}[{inner}]"]
        return self._error(
            403,
            "ConsentRequired",
            "Missing required data_access consent",
            request,
            required_scopes=scopes,
            authorization_parameters={
                "session_message": "Missing required data_access consent",
                "required_scopes": scopes,
            },
        )

    def _endpoint(self, request: Any, collection: str) -> Reply:
        found = self.collections.get(collection)
        if found is None:
            return self._unknown(collection, request)
        entity_type, high_assurance = KINDS[found.kind]
        body = _fixture("transfer.get_endpoint")
        body.update(
            id=collection,
            display_name=f"stand-in {found.kind} collection",
            entity_type=entity_type,
            high_assurance=high_assurance,
            DATA=[],
        )
        return _reply(200, body)

    def _stat(self, request: Any, collection: str) -> Reply:
        found = self.collections.get(collection)
        if found is None:
            return self._unknown(collection, request)
        refusal = self._consent_missing([collection], request)
        if refusal is not None:
            return refusal
        path = _query(request, "path") or "/"
        if found.refused(path):
            body = _fixture("transfer.operation_stat", "permission_denied")
            body.update(
                message=f"Denied by endpoint, Error (list)\nEndpoint: {collection}\n"
                f"Command: MLST {path}\nMessage: Fatal FTP Response\n---\nDetails: 500 "
                "Command failed : Path not allowed.",
                resource=urllib.parse.urlsplit(request.url).path,
            )
            return _reply(403, body)
        local = found.local(path)
        if local is None or not local.exists():
            body = _fixture("transfer.operation_stat", "not_found")
            body.update(
                message=f"Path not found, Error (list)\nEndpoint: {collection}\nMessage: No "
                f"such file or directory\n---\nDetails: Error: '{path}' not found",
                resource=urllib.parse.urlsplit(request.url).path,
            )
            return _reply(404, body)
        body = _fixture("transfer.operation_stat")
        body.update(
            name=posixpath.basename(path),
            type="dir" if local.is_dir() else "file",
            size=0 if local.is_dir() else local.stat().st_size,
        )
        return _reply(200, body)

    def _submission_id(self, request: Any) -> Reply:
        return _reply(200, {"value": str(uuid.uuid4())})

    def _submit(self, request: Any) -> Reply:
        doc = json.loads(request.body)
        source, target = doc.get("source_endpoint"), doc.get("destination_endpoint")
        for collection in (source, target):
            if collection not in self.collections:
                return self._unknown(str(collection), request)
        refusal = self._consent_missing([source, target], request)
        if refusal is not None:
            return refusal
        if not doc.get("DATA"):
            return _reply(400, _fixture("transfer.submit_transfer", "failure"))
        submission = doc.get("submission_id")
        task_id = self._by_submission.get(submission) if submission else None
        if task_id is None:
            task_id = str(uuid.uuid4())
            self._by_submission[str(submission)] = task_id
            self.submissions.append(doc)
            self.tasks[task_id] = self._new_task(task_id, doc)
        body = _fixture("transfer.submit_transfer")
        body.update(submission_id=submission, task_id=task_id)
        body["task_link"]["href"] = f"/v0.10/task/{task_id}?format=json"
        return _reply(202, body)

    def _new_task(self, task_id: str, doc: dict[str, Any]) -> dict[str, Any]:
        task: dict[str, Any] = copy.deepcopy(_fixture("transfer.task_list")["DATA"][0])
        task.update(
            task_id=task_id,
            label=doc.get("label"),
            source_endpoint_id=doc["source_endpoint"],
            destination_endpoint_id=doc["destination_endpoint"],
            request_time=_now(),
            completion_time=None,
            deadline=doc.get("deadline"),
            verify_checksum=doc.get("verify_checksum", False),
            sync_level=doc.get("sync_level"),
            files=len(doc["DATA"]),
            files_transferred=0,
            bytes_transferred=0,
            status="ACTIVE",
            nice_status="Queued",
            fatal_error=None,
            items=doc["DATA"],
        )
        if self.task_failure is not None:
            code, description = self.task_failure
            self._partial(task)
            task.update(status="FAILED", nice_status=None, completion_time=_now())
            task["fatal_error"] = {"code": code, "description": description}
        elif self.task_fault is not None:
            task.update(
                nice_status=self.task_fault,
                nice_status_short_description=self.task_fault.replace("_", " ").lower(),
                nice_status_details=f"Error ({self.task_fault})",
            )
        elif self.inactive:
            task.update(status="INACTIVE", nice_status=None)
        elif self.polls_before_done:
            self._pending[task_id] = self.polls_before_done
        elif not self.hang:
            self._run(task)
        return task

    def _partial(self, task: dict[str, Any]) -> None:
        """Write the first half of each file, as a transfer failing mid-file leaves it
        (Globus writes in place)."""
        source = self.collections[task["source_endpoint_id"]]
        target = self.collections[task["destination_endpoint_id"]]
        for item in task["items"]:
            src, dst = source.local(item["source_path"]), target.local(item["destination_path"])
            if src is not None and dst is not None and src.is_file():
                dst.parent.mkdir(parents=True, exist_ok=True)
                data = src.read_bytes()
                dst.write_bytes(data[: len(data) // 2])

    def _run(self, task: dict[str, Any]) -> None:
        """Do the task's copies, as the service would, and settle its status."""
        source = self.collections[task["source_endpoint_id"]]
        target = self.collections[task["destination_endpoint_id"]]
        done = 0
        for item in task["items"]:
            src_path, dst_path = item["source_path"], item["destination_path"]
            if source.refused(src_path) or target.refused(dst_path):
                fault = "PERMISSION_DENIED"
            else:
                src, dst = source.local(src_path), target.local(dst_path)
                assert src is not None and dst is not None
                if not src.is_file():
                    fault = "FILE_NOT_FOUND"
                else:
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dst)
                    done += src.stat().st_size
                    continue
            task.update(
                nice_status=fault,
                nice_status_short_description=fault.replace("_", " ").lower(),
                nice_status_details=f"Error ({fault}) on {src_path} -> {dst_path}",
            )
            return
        task.update(
            status="SUCCEEDED",
            nice_status=None,
            completion_time=_now(),
            files_transferred=len(task["items"]),
            bytes_transferred=done,
        )

    def _task(self, request: Any, task_id: str) -> Reply:
        task = self.tasks.get(task_id)
        if task is None:
            return self._error(404, "TaskNotFound", f"Task '{task_id}' not found", request)
        if task_id in self._pending:
            self._pending[task_id] -= 1
            if self._pending[task_id] <= 0:
                del self._pending[task_id]
                self._run(task)
        return _reply(200, {k: v for k, v in task.items() if k != "items"})

    def _cancel(self, request: Any, task_id: str) -> Reply:
        task = self.tasks.get(task_id)
        if task is None:
            return self._error(404, "TaskNotFound", f"Task '{task_id}' not found", request)
        self.cancelled.append(task_id)
        if task["status"] in ("ACTIVE", "INACTIVE"):
            task.update(status="FAILED", completion_time=_now())
            task["fatal_error"] = {"code": "CANCELED", "description": "canceled by the user"}
        return _reply(
            200,
            {
                "DATA_TYPE": "result",
                "code": "Canceled",
                "message": "The task has been cancelled successfully.",
                "resource": urllib.parse.urlsplit(request.url).path,
                "request_id": uuid.uuid4().hex[:9],
            },
        )


def _escape(url: str) -> str:
    """``url`` as a regular expression whose groups are the ``([^/?]+)`` parts, matching
    the whole URL without its query string."""
    parts = url.split("([^/?]+)")
    return "([^/?]+)".join(re.escape(p) for p in parts) + r"(?:\?.*)?$"
