"""Allowed roots: the directories a stager may read inputs from or write outputs to."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence

from plait.errors import StagingPathError


def check_within(path: str, roots: Sequence[str], url: str, *, local: bool = True) -> None:
    """Raise :class:`~plait.errors.StagingPathError` naming ``url`` unless ``path`` lies
    under one of ``roots`` (no roots: every path is allowed).

    ``..`` never leads out of a root; for a ``local`` path symbolic links are resolved
    too (a remote host's path, ``local=False``, is only normalised).
    """
    if not roots:
        return
    normal = os.path.realpath if local else posixpath.normpath
    real = normal(path)
    for root in roots:
        base = normal(root)
        if real == base or real.startswith(base.rstrip("/") + "/"):
            return
    raise StagingPathError(
        f"{url} is outside the allowed roots {list(roots)} (resolved to {real})",
        path=real,
        allowed_roots=list(roots),
    )
