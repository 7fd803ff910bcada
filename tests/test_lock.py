"""The locks in ``requirements/`` say what ``pyproject.toml`` says, offline.

Each lock (``./liaison lock``, uv with hashes) is meant for one set of pyproject's
requirements: ``image.txt`` its dependencies (the Python image), ``local.txt`` with the
``local`` extra (``./liaison run``), ``dev.txt`` with ``dev`` and ``local`` (``./liaison
test``); the last two also hold the build backend (``requirements/build.in``), since the
project is installed with ``--no-build-isolation``. Checked here: every direct requirement is
locked at its pinned version, every entry is pinned with hashes, a package has one version
in all three, and (with the metadata of the packages installed in this interpreter, which
``./liaison test`` installs from ``dev.txt``) the lock holds exactly what its requirements
lead to on this platform: nothing missing, nothing left over.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from shared.settings import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "requirements"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Pin:
    version: Version
    marker: Marker | None
    hashes: tuple[str, ...]

    def applies(self) -> bool:
        return self.marker is None or self.marker.evaluate()


def _read_lock(path: Path) -> dict[str, list[Pin]]:
    """Package name -> its pins (a package may have one per marker)."""
    text = path.read_text(encoding="utf-8")
    entries = re.sub(r"\\\n\s*", " ", text).splitlines()
    pins: dict[str, list[Pin]] = {}
    for line in entries:
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement, *options = line.split(" --hash=")
        assert not requirement.startswith("-"), f"{path.name}: an option line: {line}"
        parsed = Requirement(requirement)
        specifiers = list(parsed.specifier)
        assert len(specifiers) == 1, f"{path.name}: {requirement} is not pinned"
        assert specifiers[0].operator == "==", f"{path.name}: {requirement} is not pinned"
        assert options, f"{path.name}: {requirement} has no hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h.strip()) for h in options), line
        pin = Pin(Version(specifiers[0].version), parsed.marker, tuple(options))
        pins.setdefault(canonicalize_name(parsed.name), []).append(pin)
    return pins


def _build_requirements() -> list[Requirement]:
    lines = (REQUIREMENTS / "build.in").read_text(encoding="utf-8").splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def _roots(extras: tuple[str, ...], build: bool) -> list[Requirement]:
    project = PYPROJECT["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        requirements += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return requirements + (_build_requirements() if build else [])


LOCKS = {
    "image.txt": _roots((), build=False),
    "local.txt": _roots(("local",), build=True),
    "dev.txt": _roots(("dev", "local"), build=True),
}


def _applicable(pins: list[Pin]) -> Pin | None:
    here = [pin for pin in pins if pin.applies()]
    assert len(here) <= 1, f"two pins apply on this platform: {here}"
    return here[0] if here else None


def test_every_lock_says_how_it_was_made() -> None:
    for name in LOCKS:
        head = (REQUIREMENTS / name).read_text(encoding="utf-8").splitlines()[:3]
        assert any("./liaison lock" in line for line in head), name


def test_the_build_backend_is_what_pyproject_builds_with() -> None:
    wanted = {str(Requirement(r)) for r in PYPROJECT["build-system"]["requires"]}
    assert {str(r) for r in _build_requirements()} == wanted


@pytest.mark.parametrize("name", LOCKS)
def test_direct_requirements_are_locked_at_their_pins(name: str) -> None:
    lock = _read_lock(REQUIREMENTS / name)
    wrong = []
    for requirement in LOCKS[name]:
        pins = lock.get(canonicalize_name(requirement.name), [])
        if not pins or not all(requirement.specifier.contains(p.version) for p in pins):
            wrong.append(f"{requirement} locked as {[str(p.version) for p in pins]}")
    assert wrong == [], "run ./liaison lock"


def test_a_package_has_one_version_in_every_lock() -> None:
    versions: dict[tuple[str, str], set[str]] = {}
    for name in LOCKS:
        for package, pins in _read_lock(REQUIREMENTS / name).items():
            for pin in pins:
                versions.setdefault((package, str(pin.marker)), set()).add(str(pin.version))
    assert {key: v for key, v in versions.items() if len(v) > 1} == {}


def _closure(roots: list[Requirement]) -> dict[str, set[str]]:
    """Every package the roots lead to here (installed metadata), with the extras asked of it."""
    wanted: dict[str, set[str]] = {}
    todo = [(r, "") for r in roots]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        package = canonicalize_name(requirement.name)
        extras = wanted.setdefault(package, set())
        new = {""} | set(requirement.extras)
        new -= extras
        if not new:
            continue
        extras |= new
        for line in metadata.requires(package) or []:
            for asked in new:
                todo.append((Requirement(line), asked))
    return wanted


@pytest.mark.parametrize("name", LOCKS)
def test_the_lock_holds_exactly_what_its_requirements_lead_to(name: str) -> None:
    """What pyproject's requirements need on this platform is locked, and nothing else is
    (uv's resolution, checked with the installed packages' metadata)."""
    lock = _read_lock(REQUIREMENTS / name)
    here = {package: pin for package, pins in lock.items() if (pin := _applicable(pins))}
    needed = _closure(LOCKS[name])
    assert sorted(set(needed) - set(here)) == [], "needed but not locked: run ./liaison lock"
    assert sorted(set(here) - set(needed)) == [], "locked but not needed: run ./liaison lock"


def test_this_environment_is_installed_from_the_dev_lock() -> None:
    """The metadata the closure reads is that of the locked versions."""
    lock = _read_lock(REQUIREMENTS / "dev.txt")
    stale = []
    for package, pins in lock.items():
        pin = _applicable(pins)
        if pin is not None and Version(metadata.version(package)) != pin.version:
            stale.append(f"{package} {metadata.version(package)} != {pin.version}")
    assert stale == [], "run ./liaison test, which installs the lock"
