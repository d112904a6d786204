"""Expected digests of a download: from the URL's fragment (``#sha256=<hex>``) or the
stager's ``checksums`` option (``"sha256:<hex>"``)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from plait.errors import ConfigError, StagingError


def _hex_lengths() -> dict[str, int]:
    lengths = {}
    for name in sorted(hashlib.algorithms_guaranteed):
        if name.startswith("shake_"):  # variable-length digests have no fixed hex form
            continue
        try:
            lengths[name] = hashlib.new(name).digest_size * 2
        except ValueError:  # disabled here (md5 on a FIPS system)
            continue
    return lengths


ALGORITHMS: dict[str, int] = _hex_lengths()
"""Algorithm name (as ``hashlib`` spells it) -> length of its hex digest, for the
algorithms this Python can compute."""

_BY_KEY = {name.replace("_", ""): name for name in ALGORITHMS}
_HEX = re.compile(r"[0-9a-fA-F]+")


def algorithm_named(key: str) -> str | None:
    """The ``hashlib`` name ``key`` spells (``sha256``, ``SHA-256``, ``sha3_256``),
    or None."""
    return _BY_KEY.get(key.strip().lower().replace("-", "").replace("_", ""))


def parse_digest(algorithm: str, digest: str) -> tuple[str, str] | None:
    """``(algorithm, lowercase hex)`` when ``algorithm`` names a hash ``hashlib``
    always has and ``digest`` is a hex digest of its length; None otherwise."""
    name = algorithm_named(algorithm)
    value = digest.strip()
    if name is not None and _HEX.fullmatch(value) and len(value) == ALGORITHMS[name]:
        return name, value.lower()
    return None


def from_fragment(fragment: str, shown_url: str) -> dict[str, str]:
    """The digests a URL fragment names: ``sha256=<hex>``, several joined by ``&``.

    Parts that do not name a hash algorithm are ignored (a fragment may mean something
    else to someone else); a part that names one with a malformed digest raises
    :class:`~plait.errors.StagingError` rather than skipping the check silently."""
    expected: dict[str, str] = {}
    for part in fragment.split("&"):
        key, sep, value = part.partition("=")
        name = algorithm_named(key)
        if not sep or name is None:
            continue
        parsed = parse_digest(name, value)
        if parsed is None:
            raise StagingError(
                f"{shown_url}: the fragment's {key}= is not a {name} digest of "
                f"{ALGORITHMS[name]} hex digits: {value!r}",
                hint=f"write the digest in hex, e.g. #{name}=<{ALGORITHMS[name]} hex digits>",
                url=shown_url,
            )
        expected[parsed[0]] = parsed[1]
    return expected


def parse_option(checksums: Mapping[Any, Any]) -> dict[str, tuple[str, str]]:
    """The ``checksums`` option checked: URL -> ``(algorithm, hex)``; an entry that is not
    ``"<url>": "<algorithm>:<hex>"`` raises :class:`~plait.errors.ConfigError`."""
    if not isinstance(checksums, Mapping):
        raise ConfigError(
            f"HttpStager.checksums={checksums!r} must be a table of URL = 'algorithm:hex'",
            option="checksums",
        )
    parsed: dict[str, tuple[str, str]] = {}
    for url, value in checksums.items():
        pair = None
        if isinstance(url, str) and isinstance(value, str):
            algorithm, sep, digest = value.partition(":")
            pair = parse_digest(algorithm, digest) if sep else None
        if pair is None:
            raise ConfigError(
                f"HttpStager.checksums[{url!r}]={value!r} is not '<algorithm>:<hex digest>'",
                hint='write e.g. "sha256:<64 hex digits>"; algorithms: ' + ", ".join(ALGORITHMS),
                option="checksums",
            )
        parsed[url] = pair
    return parsed
