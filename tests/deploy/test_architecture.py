"""The import-linter contracts in pyproject.toml catch the imports they exist to forbid.

`make lint` checks the code as it is; these tests prove the checks bite, by adding one forbidden
import to the real import graph and asking import-linter for its verdict.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest
from importlinter.adapters.building import GraphBuilder
from importlinter.application import use_cases
from importlinter.application.app_config import settings
from importlinter.configuration import configure

ROOT = Path(__file__).resolve().parents[2]


class _GraphPlus(GraphBuilder):
    """The project's real import graph, plus one import it does not have."""

    def __init__(self, importer: str, imported: str) -> None:
        self.importer, self.imported = importer, imported

    def build(self, *args: object, **kwargs: object) -> grimp.ImportGraph:
        graph = super().build(*args, **kwargs)  # type: ignore[arg-type]
        graph.add_import(
            importer=self.importer, imported=self.imported, line_number=1, line_contents=f"import {self.imported}"
        )
        return graph


@pytest.fixture(autouse=True)
def _importlinter_settings() -> Iterator[None]:
    configure()
    use_cases._register_built_in_contract_types()  # what the lint-imports command does first
    saved = settings.copy()
    yield
    settings._config = saved._config


def _broken_contracts(importer: str, imported: str) -> set[str]:
    settings.configure(GRAPH_BUILDER=_GraphPlus(importer, imported))
    report = use_cases.create_report(use_cases.read_user_options(str(ROOT / "pyproject.toml")), cache_dir=None)
    return {contract.name for contract, check in report.get_contracts_and_checks() if not check.kept}


@pytest.mark.parametrize(
    ("importer", "imported", "rule"),
    [
        ("crier.gateway.handlers.posts", "crier.connect.handlers.accounts", "services never import each other"),
        ("crier.kit.uow", "crier.gateway.domain.post", "the libraries import no service"),
        ("crier.contracts.events", "crier.cli.main", "The CLI composes the services"),
        ("crier.gateway.domain.post", "crier.gateway.adapters.post_store", "Inside a service"),
        ("crier.gateway.entrypoints.http.posts", "crier.gateway.adapters.post_store", "Entry points act through"),
        ("crier.publisher.handlers.delivery", "httpx", "Use cases speak no HTTP"),
        ("crier.webhooks.domain.delivery", "sqlalchemy", "The domain is pure"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(importer: str, imported: str, rule: str) -> None:
    broken = _broken_contracts(importer, imported)
    assert any(rule in name for name in broken), broken


def test_the_code_keeps_every_contract() -> None:
    settings.configure(GRAPH_BUILDER=GraphBuilder())
    report = use_cases.create_report(use_cases.read_user_options(str(ROOT / "pyproject.toml")), cache_dir=None)
    assert not report.contains_failures, [c.name for c, check in report.get_contracts_and_checks() if not check.kept]
