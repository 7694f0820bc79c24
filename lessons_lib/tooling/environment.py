"""The environment check of lesson 00: are the packages the course was tested with installed?"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

#: The packages a learner's notebooks rely on, in the order the check prints them.
CORE_PACKAGES = ("numpy", "matplotlib", "ipywidgets", "jupyterlab", "scikit-learn", "nbval")

#: The Python versions the course supports: the notebooks give the same outputs on each
#: (CI runs them on the oldest and the newest).
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")


def pinned_versions(requirements: str | Path) -> dict[str, str]:
    """The exact versions ``requirements.txt`` asks for, by lower-case package name."""
    pins = {}
    for line in Path(requirements).read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, wanted = line.split("==", 1)
            pins[name.strip().lower()] = wanted.strip()
    return pins


def installed_version(package: str) -> str | None:
    """The installed version of ``package``, or None if it is not installed."""
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def environment_report(requirements: str | Path) -> list[str]:
    """One line per core package: its installed version and whether it is the pinned one.

    Only what is stable across machines is printed (the supported range of Python rather
    than the version at hand, package versions), so the stored output of lesson 00
    matches wherever the course was installed as the README says, on any supported Python.
    """
    pins = pinned_versions(requirements)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    supported = f"{SUPPORTED_PYTHONS[0]}–{SUPPORTED_PYTHONS[-1]}"
    if python in SUPPORTED_PYTHONS:
        lines = [f"{'python':<13} {supported:<9} ok"]
    else:
        lines = [f"{'python':<13} {python:<9} not supported: use Python {supported}"]
    for package in CORE_PACKAGES:
        have, want = installed_version(package), pins.get(package)
        if have is None:
            verdict, have = f"MISSING: pip install {package}=={want}", "-"
        elif have != want:
            verdict = f"differs from the tested {want}; outputs may differ slightly"
        else:
            verdict = "ok"
        lines.append(f"{package:<13} {have:<9} {verdict}")
    return lines
