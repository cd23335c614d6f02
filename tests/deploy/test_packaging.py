"""The distribution: one `crier` namespace, the product only, and nothing of the old top-level names."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OLD_TOP_LEVEL = (
    "gateway",
    "connect",
    "scheduler",
    "publisher",
    "webhooks",
    "kit",
    "contracts",
    "platforms",
    "crier_cli",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """Built from a copy of the checkout, so concurrent runs never share a build folder."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in ("libs", "services"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("crier_social-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_holds_crier_and_its_metadata_only(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"crier"}
    assert not [n for n in names if "/tests/" in n or Path(n).name.startswith("test_") or "conftest" in n]


def test_the_wheel_holds_every_module_and_migration(wheel: zipfile.ZipFile) -> None:
    sources = {
        str(p.relative_to(root))
        for root in (ROOT / "libs", ROOT / "services")
        for p in root.rglob("*")
        if p.suffix in (".py", ".mako") and "__pycache__" not in p.parts
    }
    assert sources <= set(wheel.namelist()), sorted(sources - set(wheel.namelist()))
    assert any(n.startswith("crier/gateway/migrations/versions/") for n in wheel.namelist())


def test_the_wheel_holds_the_docs_page_assets(wheel: zipfile.ZipFile) -> None:
    """The API reference page is served from the package (no CDN), so its script and licence ship in it."""
    assets = ROOT / "services/crier/gateway/entrypoints/http/docs_assets"
    for path in assets.iterdir():
        name = f"crier/gateway/entrypoints/http/docs_assets/{path.name}"
        assert wheel.read(name) == path.read_bytes(), name
    assert any(p.suffix == ".js" for p in assets.iterdir())


def test_the_command_is_crier_cli(wheel: zipfile.ZipFile) -> None:
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "crier = crier.cli.main:main" in wheel.read(entry_points).decode()
    [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    assert "Name: crier-social" in wheel.read(metadata).decode()


def test_only_the_namespace_imports() -> None:
    services = ", ".join(f"crier.{s}" for s in ("gateway", "connect", "scheduler", "publisher", "webhooks"))
    subprocess.run([sys.executable, "-c", f"import {services}, crier.platforms, crier.cli"], check=True, cwd="/")
    for name in OLD_TOP_LEVEL:
        result = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, cwd="/")
        assert result.returncode != 0, f"{name} still imports"
