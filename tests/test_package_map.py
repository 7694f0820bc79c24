"""The package's map (the docstrings of lessons_lib and its sub-packages) names every module."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import lessons_lib

PACKAGES = ["lessons_lib", "lessons_lib.figures", "lessons_lib.tooling", "lessons_lib.optim"]
#: The only sub-packages at the top: the core's rules, drawing, tooling.
TOP_SUB_PACKAGES = {"optim", "figures", "tooling"}


@pytest.mark.parametrize("package_name", PACKAGES)
def test_every_module_is_named_in_its_package_map(package_name: str) -> None:
    package = importlib.import_module(package_name)
    doc = package.__doc__ or ""
    missing = []
    for module in pkgutil.iter_modules(package.__path__):
        short = f"``{module.name}``"
        full = f"``{package_name}.{module.name}``"
        pattern_ok = module.name.startswith("lesson") and "``lessonNN_*``" in doc
        if short not in doc and full not in doc and not pattern_ok:
            missing.append(module.name)
    assert not missing, f"{package_name}'s docstring does not name: {missing}"


def test_top_level_holds_the_core_and_two_named_sub_packages() -> None:
    subs = {m.name for m in pkgutil.iter_modules(lessons_lib.__path__) if m.ispkg}
    assert subs == TOP_SUB_PACKAGES


def test_the_core_never_imports_drawing_or_tooling() -> None:
    core = [m.name for m in pkgutil.iter_modules(lessons_lib.__path__) if not m.ispkg]
    for name in core:
        source = importlib.import_module(f"lessons_lib.{name}").__loader__.get_source(f"lessons_lib.{name}")
        assert "lessons_lib.figures" not in source and "lessons_lib.tooling" not in source, name
