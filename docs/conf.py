"""Sphinx configuration for the plait documentation.

Built with ``sphinx-build -W --keep-going -n -b html docs docs/_build/html`` (tox -e docs):
warnings are errors and every cross reference must resolve. The build needs no
network: there is no intersphinx, so references to the standard library and to
third-party classes that appear in type hints are listed in ``nitpick_ignore`` below.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))

import plait  # noqa: E402

project = "plait"
author = "the plait developers"
copyright = "the plait developers"
release = plait.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "myst_parser",
    "plait_docs",
]

root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "requirements.txt"]
templates_path: list[str] = []
html_static_path: list[str] = []

html_theme = "furo"
html_title = f"plait {release}"
pygments_style = "sphinx"
pygments_dark_style = "monokai"

# --- autodoc -----------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = False
autodoc_inherit_docstrings = False
autodoc_default_options = {
    "members": True,
    "undoc-members": False,
    "show-inheritance": True,
}
# --- nitpicky mode -----------------------------------------------------------------
# No intersphinx (the build runs offline), so standard-library classes named in type
# hints cannot be linked: ignore references into the stdlib modules plait's hints use
# (typing's own names and builtins resolve without help), plus two local names.
nitpicky = True
nitpick_ignore = [
    # click's command group, in the signature of the plait_add_commands hook
    ("py:class", "click.Group"),
    # plait-rsync's parsed URL, a private helper class in its stager's signatures
    ("py:class", "plait_rsync.stager.Target"),
    # Literal["python", "bash", "join"], a private alias in plait.apps.decorators
    ("py:class", "AppKind"),
    # the type variable of plait.concurrency.LightFuture
    ("py:obj", "plait.concurrency.T"),
    # third-party classes in plait-proxystore's signatures (no intersphinx offline)
    ("py:class", "proxystore.store.config.StoreConfig"),
    ("py:class", "proxystore.store.base.Store"),
    # attrs' Attribute, in the signatures of plait.validators
    ("py:class", "attr._make.Attribute"),
]
_STDLIB = (
    r"(abc|enum|logging|os|pathlib|types|threading|queue|collections\.abc"
    r"|concurrent\.futures\.?\w*)"
)
nitpick_ignore_regex = [
    ("py:class", _STDLIB + r"\.\w+"),
]
