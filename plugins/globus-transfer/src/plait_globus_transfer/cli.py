"""``plait globus login | logout | status``: the one login that gives the globus-transfer
stager its tokens and the ``data_access`` consents of a workflow's collections."""

from __future__ import annotations

import contextlib
import datetime
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from plait_globus_transfer import settings


def _collections(ctx: click.Context, param: click.Parameter, values: Any) -> tuple[str, ...]:
    ids = []
    for value in values:
        try:
            ids.append(settings.canonical_uuid(value))
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is not a collection id (a UUID, as app.globus.org shows it)"
            ) from None
    return tuple(ids)


Decorated = TypeVar("Decorated", bound=Callable[..., Any])


def _client_id_option(required: bool) -> Callable[[Decorated], Decorated]:
    return click.option(
        "--client-id",
        envvar=settings.CLIENT_ID_ENV,
        show_envvar=True,
        default=None,
        metavar="UUID",
        help="The client id of your Globus native app"
        + (" (see README: registering a client id)." if required else "."),
    )


_token_path_option = click.option(
    "--token-path",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"The token file [default: {settings.default_token_path()}].",
)


def _require_client_id(client_id: str | None) -> str:
    if not client_id:
        raise click.UsageError(f"no Globus client id: {settings.NO_CLIENT_ID_HINT}")
    try:
        return settings.canonical_uuid(client_id)
    except ValueError:
        raise click.BadParameter(f"{client_id!r} is not a UUID", param_hint="--client-id") from None


def _when(seconds: int) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _login_flows() -> tuple[Any, Any]:
    """The SDK's login flow managers, writing and reading through click: the command
    line flow (print the URL, read the code) and the browser flow (a local server
    receives the code), which falls back to the first when no browser can be used."""
    from globus_sdk.login_flows import (
        CommandLineLoginFlowManager,
        LocalServerLoginFlowManager,
    )
    from globus_sdk.login_flows.local_server_login_flow_manager import (
        LocalServerEnvironmentalLoginError,
    )
    from globus_sdk.login_flows.local_server_login_flow_manager.local_server import (
        RedirectHandler,
        RedirectHTTPServer,
    )

    class CommandLineLogin(CommandLineLoginFlowManager):
        def print_authorize_url(self, authorize_url: str) -> None:
            click.echo("Log in to Globus at this URL (in any browser):\n")
            click.echo(f"  {authorize_url}\n")

        def prompt_for_code(self) -> str:
            code: str = click.prompt("Then enter the authorization code it shows", type=str)
            return code.strip()

    class BrowserLogin(LocalServerLoginFlowManager):
        @contextlib.contextmanager
        def background_local_server(self) -> Iterator[Any]:
            # the SDK's leaves the server's socket open, and its thread running when the
            # login fails (no browser): close both in any case
            server = RedirectHTTPServer(
                server_address=self.server_address,
                handler_class=RedirectHandler,
                html_template=self.html_template,
            )
            thread = threading.Thread(
                target=server.serve_forever, name="plait-globus-login", daemon=True
            )
            thread.start()
            try:
                yield server
            finally:
                server.shutdown()
                server.server_close()
                thread.join()

        def run_login_flow(self, auth_parameters: Any) -> Any:
            click.echo("Opening a browser to log in to Globus ...")
            try:
                return super().run_login_flow(auth_parameters)
            except LocalServerEnvironmentalLoginError as exc:
                click.echo(f"No browser can be used here ({exc}).", err=True)
                fallback = CommandLineLogin(
                    self.login_client,
                    request_refresh_tokens=self.request_refresh_tokens,
                    native_prefill_named_grant=self.native_prefill_named_grant,
                )
                return fallback.run_login_flow(auth_parameters)

    return CommandLineLogin, BrowserLogin


@click.group()
def globus() -> None:
    """Globus login for the globus-transfer stager (plait-globus-transfer)."""


@globus.command()
@click.option(
    "--collection",
    "collections",
    multiple=True,
    metavar="ID",
    callback=_collections,
    help="A Globus Connect Server v5 mapped collection whose data_access consent to ask "
    "for (repeatable). Collections of earlier logins and those transfers found missing are "
    "asked for too.",
)
@click.option(
    "--no-browser",
    is_flag=True,
    help="Print the login URL and read the authorization code here instead of opening a "
    "browser (for a remote session).",
)
@_client_id_option(required=True)
@_token_path_option
def login(
    collections: tuple[str, ...], no_browser: bool, client_id: str | None, token_path: str | None
) -> None:
    """Log in to Globus once for every collection of a workflow.

    Asks Globus Auth for Globus Transfer with the data_access consent of each collection
    named, stores the tokens (refresh tokens included) in the token file, readable by
    you only, and records the collections, so that the globus-transfer stager transfers
    without asking again.
    """
    import globus_sdk
    from globus_sdk.login_flows import CommandLineLoginFlowEOFError
    from globus_sdk.login_flows.local_server_login_flow_manager import LocalServerLoginError
    from globus_sdk.token_storage.validating_token_storage import IdentityMismatchError

    from plait_globus_transfer import tokens

    client = _require_client_id(client_id)
    path = settings.resolve_token_path(token_path)
    storage = tokens.PlaitTokenStorage(path)
    try:
        record = storage.record()
    except ValueError as exc:
        raise click.ClickException(
            f"the token file {path} cannot be read ({exc}); remove it with "
            f"`plait globus logout` and log in again"
        ) from exc
    if record.client_id not in (None, client):
        # tokens and consents of another client are of no use to this one
        storage.delete()
        record = settings.ConsentRecord()
    wanted = sorted(set(collections) | record.consented | record.needed)
    command_line, browser = _login_flows()
    if wanted:
        click.echo(f"Asking for the data_access consent of: {', '.join(wanted)}")
    app = tokens.make_app(
        client, storage, collections=wanted, login_flow=command_line if no_browser else browser
    )
    try:
        app.login(force=True)
    except IdentityMismatchError as exc:
        raise click.ClickException(
            f"you logged in as another Globus identity than the one whose tokens are in "
            f"{path}; run `plait globus logout` first to switch identities"
        ) from exc
    except globus_sdk.GlobusAPIError as exc:
        detail = exc.code or (exc.raw_json or {}).get("error") or exc.http_status
        raise click.ClickException(f"Globus Auth refused the login ({detail}): {exc.text}") from exc
    except (CommandLineLoginFlowEOFError, LocalServerLoginError) as exc:
        raise click.ClickException(f"the login did not finish: {exc}") from exc
    finally:
        tokens.close(app)
    storage.update_record(client_id=client, consented=wanted, needed=())
    data = storage.get_token_data(settings.TRANSFER_RS)
    identity = data.identity_id if data is not None else None
    click.echo(f"Logged in to Globus as identity {identity or '(unknown)'}.")
    click.echo(f"Tokens (with refresh tokens) stored in {path} (mode 0600).")
    if wanted:
        click.echo(f"data_access consent asked for: {', '.join(wanted)}")


@globus.command()
@_client_id_option(required=False)
@_token_path_option
def logout(client_id: str | None, token_path: str | None) -> None:
    """Revoke plait's Globus tokens and remove the token file."""
    import globus_sdk

    from plait_globus_transfer import tokens

    path = settings.resolve_token_path(token_path)
    if not os.path.exists(path):
        click.echo(f"No Globus tokens for plait in {path}.")
        return
    storage = tokens.PlaitTokenStorage(path)
    try:
        stored = list(storage.get_token_data_by_resource_server().values())
        record = storage.record()
    except ValueError:
        stored, record = [], settings.ConsentRecord()
    client = record.client_id or client_id
    revoked = failed = 0
    if client:
        auth = globus_sdk.NativeAppAuthClient(client_id=client, app_name=settings.APP_NAME)
        for data in stored:
            for token in (data.access_token, data.refresh_token):
                if not token:
                    continue
                try:
                    auth.oauth2_revoke_token(token)
                    revoked += 1
                except globus_sdk.GlobusError as exc:
                    failed += 1
                    click.echo(f"could not revoke a {data.resource_server} token: {exc}", err=True)
        tokens.close(auth)
    elif stored:
        click.echo("no client id recorded: the tokens are removed but not revoked", err=True)
    storage.delete()
    click.echo(
        f"Removed {path}; revoked {revoked} token(s)" + (f", {failed} failed." if failed else ".")
    )


@globus.command()
@_token_path_option
def status(token_path: str | None) -> None:
    """Show the stored Globus login: identity, tokens, collections consented (no network
    call). Exits with status 1 when there is no login."""
    from plait_globus_transfer import tokens

    path = settings.resolve_token_path(token_path)
    if not os.path.exists(path):
        click.echo(f"Not logged in: no Globus tokens for plait in {path}.")
        click.echo(f"Run `{settings.login_command(token_path=token_path)}`.")
        raise SystemExit(1)
    storage = tokens.PlaitTokenStorage(path)
    try:
        stored = storage.get_token_data_by_resource_server()
        record = storage.record()
    except ValueError as exc:
        raise click.ClickException(f"the token file {path} cannot be read ({exc})") from exc
    identities = sorted({d.identity_id for d in stored.values() if d.identity_id})
    click.echo(f"token file:  {path}")
    click.echo(f"client id:   {record.client_id or '(not recorded)'}")
    click.echo(f"identity:    {', '.join(identities) or '(unknown)'}")
    for resource_server, data in sorted(stored.items()):
        refresh = "refresh token" if data.refresh_token else "no refresh token"
        click.echo(
            f"  {resource_server}: access token until {_when(data.expires_at_seconds)}, {refresh}"
        )
    click.echo(f"consented:   {', '.join(sorted(record.consented)) or '(no collection)'}")
    if record.needed:
        click.echo(f"missing:     {', '.join(sorted(record.needed))}")
        command = settings.login_command(
            record.needed | record.consented, token_path=token_path, client_id=None
        )
        click.echo(f"Run `{command}` to add them.")
    if settings.TRANSFER_RS not in stored:
        raise SystemExit(1)
