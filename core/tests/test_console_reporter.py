"""The console reporter: styled with rich on a terminal, plain text elsewhere."""

from __future__ import annotations

import io
import re

import pytest

from plait.builtins import ConsoleErrorReporter
from plait.errors import BashExitFailure
from plait.interfaces import ErrorContext

CONTEXT = ErrorContext(task_id=7, task_name="fit", executor="cluster", attempts=2)
ANSI = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b]*\x1b\\")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def report(monkeypatch: pytest.MonkeyPatch, stream: io.StringIO) -> str:
    monkeypatch.setattr("sys.stderr", stream)
    error = BashExitFailure("bash app 'fit' exited with code 3: ./fit", exitcode=3)
    ConsoleErrorReporter().report(error, CONTEXT)
    return stream.getvalue()


def test_a_terminal_gets_the_same_lines_styled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    styled = report(monkeypatch, Terminal())
    plain = report(monkeypatch, io.StringIO())
    assert styled != plain and "\x1b[" in styled
    assert ANSI.sub("", styled) == plain
    code = re.search(r"\x1b\[([0-9;]+)m\[PLT-202\]", styled)
    assert code and "31" in code[1].split(";"), "the code is red"
    assert "\x1b]8;" in styled and "errors.html#plt-202" in styled, "the docs link is a link"


@pytest.mark.parametrize(("name", "value"), [("NO_COLOR", "1"), ("TERM", "dumb")])
def test_no_color_or_a_dumb_terminal_gets_plain_text(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    text = report(monkeypatch, Terminal())
    assert "\x1b" not in text
    assert text.startswith("plait: task 7 (fit) failed after 2 attempts on 'cluster': ")
    assert "[PLT-202] bash app command failed" in text
