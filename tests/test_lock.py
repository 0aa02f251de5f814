"""The locks in requirements/ agree with pyproject.toml (scripts/lock refreshes them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)", re.MULTILINE)


def declared(*extras: str) -> list[Requirement]:
    """pyproject's dependencies, plus those of `extras`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in extras:
        texts += project["optional-dependencies"][extra]
    return [Requirement(text) for text in texts]


def pins(name: str) -> dict[str, Version]:
    """What a lock file pins, by canonical name."""
    text = (REQUIREMENTS / name).read_text()
    return {canonicalize_name(n): Version(v) for n, v in _PIN.findall(text)}


def torch_pin() -> Version:
    """The torch version scripts install before the locks (requirements/torch.txt)."""
    return pins("torch.txt")[canonicalize_name("torch")]


@pytest.mark.parametrize(("lock", "extras"), [("run.lock", ()), ("test.lock", ("test",))])
def test_every_declared_dependency_is_locked_within_its_range(
    lock: str, extras: tuple[str, ...]
) -> None:
    locked = pins(lock) | {canonicalize_name("torch"): torch_pin()}
    for requirement in declared(*extras):
        version = locked.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in {lock}: run scripts/lock"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {requirement.name}=={version}, outside {requirement}: run scripts/lock"
        )


def test_the_run_lock_holds_no_test_tools() -> None:
    runtime = {canonicalize_name(r.name) for r in declared()}
    tools = {canonicalize_name(r.name) for r in declared("test")} - runtime
    assert not tools & set(pins("run.lock"))


def test_floors_lock_installs_each_direct_dependency_at_its_floor() -> None:
    floors = pins("floors.lock") | {canonicalize_name("torch"): torch_pin()}
    for requirement in declared("test"):
        lowest = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        assert lowest, f"{requirement} has no floor"
        name = canonicalize_name(requirement.name)
        if name == "torch":
            continue  # one CPU build exists here (torch.txt); the README says how 2.11 is checked
        assert floors[name] == lowest[0], (
            f"floors.lock installs {name}=={floors[name]}, not its floor {lowest[0]}: raise the "
            "floor in pyproject.toml to what installs, then run scripts/lock"
        )


@pytest.mark.parametrize("lock", ["run.lock", "test.lock", "floors.lock"])
def test_every_pin_carries_hashes_and_torch_is_left_out(lock: str) -> None:
    text = (REQUIREMENTS / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert entries and all("--hash=sha256:" in entry for entry in entries if "==" in entry)
    assert canonicalize_name("torch") not in pins(lock)
    assert not any(name.startswith("nvidia-") for name in pins(lock))  # CPU resolution
