"""The test run really checks plait's type hints at run time (tox passes
``--typeguard-packages``); a wrong-typed call into plait must be caught."""

from __future__ import annotations

import pytest


def test_plait_calls_are_type_checked(request: pytest.FixtureRequest) -> None:
    packages = request.config.getoption("typeguard_packages", default=None)
    if not packages or "plait" not in packages.split(","):
        pytest.skip("run without --typeguard-packages=plait")
    import typeguard

    from plait.interfaces.types import parse_walltime

    with pytest.raises(typeguard.TypeCheckError):
        parse_walltime([90])  # type: ignore[arg-type]
