"""One login for a workflow: consents missing and their recovery through the command the
error names, refresh tokens reused, expired logins, the token file, logout and status.
The login flows are globus-sdk's, answered by the stand-in's registered responses."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import urllib.parse
from pathlib import Path

import pytest
from globus_sdk.scopes import ScopeParser

from plait.errors import ConsentRequiredError, GlobusLoginRequiredError

TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"


def hinted_command(error: Exception) -> list[str]:
    """The command line in an error's hint (between backquotes), as arguments."""
    match = re.search(r"`([^`]+)`", error.hint)  # type: ignore[attr-defined]
    assert match is not None, f"no command in the hint: {error.hint}"  # type: ignore[attr-defined]
    words = shlex.split(match.group(1))
    assert words[:3] == ["plait", "globus", "login"]
    return words[1:]


def requested(output: str) -> dict[str, set[str]]:
    """The scopes of the authorize URL a login printed: root scope -> its dependencies."""
    url = next(w for w in output.split() if w.startswith("https://auth.globus.org/v2/oauth2/"))
    scope = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["scope"][0]
    return {
        s.scope_string: {d.scope_string for d in s.dependencies} for s in ScopeParser.parse(scope)
    }


def data_access(collection: str) -> str:
    return f"https://auth.globus.org/scopes/{collection}/data_access"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_consent_required_then_login_then_the_same_stage_in_works(site, plait_cli) -> None:
    """A workflow's first transfer from a mapped collection the login did not cover fails
    fast with PLT-410 naming the collection and the exact command; running that command
    (no-browser flow, code typed in) lets the same stage-in go through."""
    service = site.service
    site.login(site.executor)  # an earlier login, for the executor's collection only
    stager = site.stager()
    file = site.input("in.h5", b"HDF5 bytes")

    with pytest.raises(ConsentRequiredError) as info:
        stager.stage_in(file, str(site.workdir))
    error = info.value
    assert error.code == "PLT-410"
    assert file.url in str(error) and site.inputs in str(error)
    assert site.executor not in error.details["collections"]
    assert f"{TRANSFER}[*{data_access(site.inputs)}]" in error.details["required_scopes"]
    args = hinted_command(error)
    assert args == [
        "globus", "login", "--collection", site.inputs,
        "--client-id", service.client_id, "--token-path", str(site.token_path),
    ]  # fmt: skip
    # it failed before touching the input: no stat, no transfer
    assert service.requests_to("/operation/") == [] and service.submissions == []

    code = service.authorize([site.inputs, site.executor])
    result = plait_cli(*args, "--no-browser", input=f"{code}\n")
    assert result.exit_code == 0, result.output
    # one consent request for both collections: the one named and the one already held
    assert requested(result.output) == {
        "openid": set(),
        TRANSFER: {data_access(site.inputs), data_access(site.executor)},
    }
    assert f"Logged in to Globus as identity {service.identity_id}" in result.output

    staged = stager.stage_in(file, str(site.workdir))
    assert Path(staged.filepath).read_bytes() == b"HDF5 bytes"
    assert service.logins == 1


def test_consent_required_answer_from_transfer_and_recovery(logged_in, plait_cli) -> None:
    """The token file says the login covered the collection, but Transfer answers
    ConsentRequired (the consent was revoked on app.globus.org): PLT-410 with the scopes
    Transfer asked for; the record is corrected, so the next transfer fails before
    calling Transfer and a plain `plait globus login` asks for the consent again."""
    site = logged_in
    service = site.service
    service.revoke_consent(site.inputs)
    stager = site.stager()
    file = site.input("in.dat", b"data")

    with pytest.raises(ConsentRequiredError, match="answered ConsentRequired") as info:
        stager.stage_in(file, str(site.workdir))
    scope = f"{TRANSFER}[*{data_access(site.inputs)}]"
    assert info.value.details["required_scopes"] == [scope]
    assert scope in str(info.value)
    assert "--collection " + site.inputs in info.value.hint

    calls = len(service.mock.calls)
    with pytest.raises(ConsentRequiredError, match="stored Globus login has no consent"):
        stager.stage_in(file, str(site.workdir))
    assert len(service.mock.calls) == calls  # failed fast, from the record

    status = plait_cli("globus", "status", "--token-path", str(site.token_path))
    assert f"missing:     {site.inputs}" in status.output

    code = service.authorize([site.inputs, site.executor])
    result = plait_cli(
        "globus", "login", "--no-browser", "--client-id", service.client_id,
        "--token-path", str(site.token_path), input=f"{code}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert data_access(site.inputs) in requested(result.output)[TRANSFER]
    assert Path(stager.stage_in(file, str(site.workdir)).filepath).read_bytes() == b"data"


def test_consent_required_answer_at_submission(logged_in) -> None:
    """The source's consent holds (its stat works) but the destination's was revoked:
    Transfer refuses the submission; PLT-410 names the destination collection."""
    site = logged_in
    site.service.revoke_consent(site.executor)
    file = site.input("in.dat", b"data")
    with pytest.raises(ConsentRequiredError) as info:
        site.stager().stage_in(file, str(site.workdir))
    assert info.value.details["collections"] == [site.executor]
    assert f"--collection {site.executor}" in info.value.hint
    assert site.service.submissions == []  # refused, no task
    assert len(site.service.requests_to("/operation/")) == 1


def test_task_suspended_inactive_is_cancelled(logged_in) -> None:
    site = logged_in
    site.service.inactive = True
    file = site.input("in.dat", b"data")
    with pytest.raises(GlobusLoginRequiredError, match="INACTIVE") as info:
        site.stager().stage_in(file, str(site.workdir))
    assert file.url in str(info.value)
    assert len(site.service.cancelled) == 1
    assert "plait globus login --collection" in info.value.hint


def test_one_login_covers_several_collections(site, plait_cli, tmp_path) -> None:
    service = site.service
    more_dir = tmp_path / "collections" / "more"
    more = service.add_collection(more_dir, "mapped")
    (more_dir / "m.dat").write_bytes(b"more")
    code = service.authorize([site.inputs, more, site.executor])
    result = plait_cli(
        "globus", "login", "--no-browser", "--collection", site.inputs, "--collection", more,
        "--collection", site.executor, "--client-id", service.client_id,
        "--token-path", str(site.token_path), input=f"{code}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert requested(result.output)[TRANSFER] == {
        data_access(site.inputs),
        data_access(more),
        data_access(site.executor),
    }
    assert len(service.requests_to(r"/v2/oauth2/token$")) == 1  # one code exchange

    from plait.data.files import File

    stager = site.stager()
    stager.stage_in(site.input("a.dat", b"a"), str(site.workdir))
    staged = stager.stage_in(File(f"globus://{more}/m.dat"), str(site.workdir))
    assert Path(staged.filepath).read_bytes() == b"more"
    assert service.logins == 1
    record = json.loads(site.token_path.read_text())["plait"]
    assert record["consented"] == sorted([site.inputs, more, site.executor])


def test_browser_login_through_the_local_server(site, plait_cli, monkeypatch) -> None:
    """Without --no-browser: globus-sdk's local server flow; the browser (the stand-in)
    logs in, consents to what the URL asks and is redirected to the local server."""
    from globus_sdk.login_flows.local_server_login_flow_manager import (
        local_server_login_flow_manager as flow,
    )

    service = site.service
    monkeypatch.setattr(flow, "_open_webbrowser", service.browser)
    result = plait_cli(
        "globus", "login", "--collection", site.inputs, "--collection", site.executor,
        "--client-id", service.client_id, "--token-path", str(site.token_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert service.consents == {site.inputs, site.executor}
    staged = site.stager().stage_in(site.input("b.dat", b"b"), str(site.workdir))
    assert Path(staged.filepath).read_bytes() == b"b"


@pytest.mark.parametrize("why", ["ssh session", "no browser"])
def test_browser_login_falls_back_to_the_code_prompt(site, plait_cli, monkeypatch, why) -> None:
    """In an SSH session, or when no browser opens, the login prints the URL and reads
    the code; the local server started for the browser is gone."""
    import threading

    from globus_sdk.login_flows.local_server_login_flow_manager import (
        LocalServerEnvironmentalLoginError,
    )
    from globus_sdk.login_flows.local_server_login_flow_manager import (
        local_server_login_flow_manager as flow,
    )

    def no_browser(url: str) -> None:
        raise LocalServerEnvironmentalLoginError("Failed to open browser 'none'")

    if why == "ssh session":
        monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22")
    else:
        monkeypatch.setattr(flow, "_open_webbrowser", no_browser)
    code = site.service.authorize([])
    result = plait_cli(
        "globus", "login", "--client-id", site.service.client_id,
        "--token-path", str(site.token_path), input=f"{code}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "No browser can be used here" in result.output
    assert "https://auth.globus.org/v2/oauth2/authorize?" in result.output
    assert site.token_path.exists()
    assert not [t for t in threading.enumerate() if t.name == "plait-globus-login"]


def test_expired_access_token_refreshed_and_stored_without_a_new_login(site) -> None:
    service = site.service
    site.login(site.inputs, site.executor, expired=True)
    before = json.loads(site.token_path.read_text())["data"]["DEFAULT"]["transfer.api.globus.org"]
    site.stager().stage_in(site.input("a.dat", b"a"), str(site.workdir))

    (refresh,) = service.requests_to(r"/v2/oauth2/token$")
    form = urllib.parse.parse_qs(refresh.body)
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == [before["refresh_token"]]
    after = json.loads(site.token_path.read_text())["data"]["DEFAULT"]["transfer.api.globus.org"]
    assert after["access_token"] != before["access_token"]
    assert after["access_token"] in service.access_tokens
    assert after["refresh_token"] == before["refresh_token"]
    assert after["expires_at_seconds"] > before["expires_at_seconds"]
    assert after["identity_id"] == service.identity_id
    assert mode(site.token_path) == 0o600
    # another process (a new stager) uses the stored token: no second refresh, no login
    site.stager().stage_in(site.input("b.dat", b"b"), str(site.workdir))
    assert service.refreshes == 1 and service.logins == 0


def test_access_token_refused_by_transfer_is_refreshed_once(logged_in) -> None:
    site = logged_in
    site.service.expire_access_tokens()  # e.g. revoked: Transfer answers 401
    staged = site.stager().stage_in(site.input("a.dat", b"a"), str(site.workdir))
    assert Path(staged.filepath).read_bytes() == b"a"
    assert site.service.refreshes == 1


def test_expired_login_names_the_command_and_recovers(logged_in, plait_cli) -> None:
    site = logged_in
    service = site.service
    service.expire_refresh_tokens()
    stager = site.stager()
    file = site.input("a.dat", b"a")
    with pytest.raises(GlobusLoginRequiredError, match="invalid_grant") as info:
        stager.stage_in(file, str(site.workdir))
    assert info.value.code == "PLT-411" and file.url in str(info.value)
    args = hinted_command(info.value)
    assert "--collection" not in args  # the record brings the collections of the last login

    code = service.authorize([site.inputs, site.executor])
    result = plait_cli(*args, "--no-browser", input=f"{code}\n")
    assert result.exit_code == 0, result.output
    assert requested(result.output)[TRANSFER] == {
        data_access(site.inputs),
        data_access(site.executor),
    }
    assert Path(stager.stage_in(file, str(site.workdir)).filepath).read_bytes() == b"a"


def test_no_login_yet(site) -> None:
    file = site.input("a.dat", b"a")
    stager = site.stager(mapped_collections=[site.inputs, site.executor])
    with pytest.raises(GlobusLoginRequiredError, match="no Globus tokens") as info:
        stager.stage_in(file, str(site.workdir))
    assert str(site.token_path) in str(info.value) and file.url in str(info.value)
    # the collections the configuration names as mapped are asked for in the same login
    args = hinted_command(info.value)
    assert args[args.index("--collection") + 1] in (site.inputs, site.executor)
    assert args.count("--collection") == 2
    assert len(site.service.mock.calls) == 0
    assert not site.token_path.parent.exists()  # nothing created on the way


def test_tokens_of_another_client(logged_in) -> None:
    site = logged_in
    other = "0c4a6fd4-9d33-4a4b-8d2c-0b7e2c5e1c3e"
    with pytest.raises(GlobusLoginRequiredError, match="issued to the client id") as info:
        site.stager(client_id=other).stage_in(site.input("a.dat", b"a"), str(site.workdir))
    assert f"--client-id {other}" in info.value.hint


def test_token_file_readable_by_the_user_only(site, plait_cli, tmp_path) -> None:
    path = tmp_path / "new-config" / "plait" / "globus-tokens.json"
    code = site.service.authorize([])
    result = plait_cli(
        "globus", "login", "--no-browser", "--client-id", site.service.client_id,
        "--token-path", str(path), input=f"{code}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    data = json.loads(path.read_text())
    assert data["format_version"] == "2.0"  # globus-sdk's JSONTokenStorage format
    assert data["data"]["DEFAULT"]["transfer.api.globus.org"]["refresh_token"]
    assert [p.name for p in path.parent.iterdir()] == ["globus-tokens.json"]  # no temp file


def test_default_token_path_in_the_config_directory(site, plait_cli, tmp_path) -> None:
    code = site.service.authorize([])
    result = plait_cli(
        "globus", "login", "--no-browser", "--client-id", site.service.client_id,
        input=f"{code}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "xdg-config" / "plait" / "globus-tokens.json").exists()
    stager = site.stager(token_path=None)
    with pytest.raises(ConsentRequiredError) as info:  # the login covered no collection
        stager.stage_in(site.input("a.dat", b"a"), str(site.workdir))
    assert "--token-path" not in info.value.hint


def test_login_with_a_wrong_code(site, plait_cli) -> None:
    result = plait_cli(
        "globus", "login", "--no-browser", "--client-id", site.service.client_id,
        "--token-path", str(site.token_path), input="not-the-code\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Globus Auth refused the login" in result.output
    assert not site.token_path.exists()


def test_login_needs_a_client_id(plait_cli) -> None:
    result = plait_cli("globus", "login", "--no-browser")
    assert result.exit_code == 2
    assert "app.globus.org/settings/developers" in result.output


def test_login_refuses_a_malformed_collection(plait_cli) -> None:
    result = plait_cli("globus", "login", "--collection", "tutorial", "--client-id", "x")
    assert result.exit_code == 2 and "not a collection id" in result.output


def test_logout_revokes_and_removes_the_tokens(logged_in, plait_cli) -> None:
    site = logged_in
    stored = json.loads(site.token_path.read_text())["data"]["DEFAULT"]
    result = plait_cli("globus", "logout", "--token-path", str(site.token_path))
    assert result.exit_code == 0, result.output
    assert not site.token_path.exists()
    assert {t["refresh_token"] for t in stored.values()} <= site.service.revoked
    assert "revoked 4 token(s)" in result.output
    with pytest.raises(GlobusLoginRequiredError):
        site.stager().stage_in(site.input("a.dat", b"a"), str(site.workdir))
    again = plait_cli("globus", "logout", "--token-path", str(site.token_path))
    assert "No Globus tokens" in again.output


def test_status(logged_in, plait_cli) -> None:
    site = logged_in
    result = plait_cli("globus", "status", "--token-path", str(site.token_path))
    assert result.exit_code == 0, result.output
    assert site.service.identity_id in result.output
    assert f"client id:   {site.service.client_id}" in result.output
    assert "transfer.api.globus.org: access token until" in result.output
    for collection in (site.inputs, site.executor):
        assert collection in result.output
    assert len(site.service.mock.calls) == 0
    os.remove(site.token_path)
    missing = plait_cli("globus", "status", "--token-path", str(site.token_path))
    assert missing.exit_code == 1 and "Not logged in" in missing.output


def test_plait_lists_the_globus_commands(plait_cli) -> None:
    result = plait_cli("globus", "--help")
    assert result.exit_code == 0
    for command in ("login", "logout", "status"):
        assert command in result.output
