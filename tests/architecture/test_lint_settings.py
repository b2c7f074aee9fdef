"""`make lint` checks every product package: a new top-level package cannot slip past mypy or import sorting."""

import tomllib

from tests.architecture.test_imports import ROOT, top_level_packages


def test_every_top_level_package_is_type_checked_and_sorted_as_first_party() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    checked = set(settings["tool"]["mypy"]["files"])
    first_party = set(settings["tool"]["ruff"]["lint"]["isort"]["known-first-party"])
    packages = set(top_level_packages())
    assert packages - checked == set(), "add these packages to [tool.mypy] files in pyproject.toml"
    assert packages - first_party == set(), "add these packages to known-first-party in pyproject.toml"
