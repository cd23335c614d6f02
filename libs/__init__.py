"""Crier: a self-hostable social publishing API.

One import namespace. `crier.kit`, `crier.contracts`, `crier.platforms` and `crier.cli` live in
`libs/`; each service (`crier.gateway`, `crier.connect`, `crier.scheduler`, `crier.publisher`,
`crier.webhooks`) lives in `services/<name>/`. `pyproject.toml` maps the folders to the names.
"""

from importlib import metadata

try:
    __version__ = metadata.version("crier-social")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0"
