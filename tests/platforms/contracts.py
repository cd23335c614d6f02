"""Checking JSON against the platforms' own published contracts (`../shared/platform-contracts`):
OpenAPI component schemas, Google discovery schemas, AT Protocol lexicons and Meta's node specs."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

# Beside the checkout by default; CRIER_PLATFORM_CONTRACTS points elsewhere (a clone in another place).
ROOT = Path(
    os.environ.get("CRIER_PLATFORM_CONTRACTS") or Path(__file__).resolve().parents[3] / "shared" / "platform-contracts"
)


# For tests that check nothing but a contract: skipped on a checkout without the contracts beside it.
requires_contracts = pytest.mark.skipif(not ROOT.is_dir(), reason=f"platform contracts not found at {ROOT}")


@cache
def load(relative: str) -> Any:
    return json.loads((ROOT / relative).read_text())


def openapi_errors(doc: str, schema: str, data: Any) -> list[str]:
    spec = load(doc)
    root = {"$ref": f"#/components/schemas/{schema}", "components": spec["components"]}
    validator = jsonschema.Draft202012Validator(root)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


# Discovery-document keywords that JSON Schema does not know; dropped when translating.
_DISCOVERY_ONLY = ("id", "description", "enumDescriptions", "annotations", "readOnly", "deprecated")


def _from_discovery(node: Any) -> Any:
    """A discovery-document schema as JSON Schema; objects refuse properties they do not declare."""
    if isinstance(node, list):
        return [_from_discovery(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "schemas"):  # maps of names to schemas: every name is data
            out[key] = {name: _from_discovery(schema) for name, schema in value.items()}
        elif key == "$ref":
            out["$ref"] = f"#/schemas/{value}"
        elif key in _DISCOVERY_ONLY or (key == "type" and value == "any"):
            continue
        elif key == "format":
            continue  # int64 and friends are strings in JSON; leave formats unchecked
        else:
            out[key] = _from_discovery(value)
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def discovery_errors(doc: str, schema: str, data: Any) -> list[str]:
    spec = load(doc)
    root = {"$ref": f"#/schemas/{schema}", **_from_discovery({"schemas": spec["schemas"]})}
    validator = jsonschema.Draft202012Validator(root)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


_LEXICON_TYPES = {"string": str, "boolean": bool, "integer": int, "array": list, "object": dict}


def lexicon_errors(nsid: str, data: Any, *, part: str = "output", def_name: str = "main") -> list[str]:
    """Required properties present, declared properties of the declared primitive type, nothing
    undeclared. `part` is "output" for a query/procedure's answer, or "" for an object def."""
    lexicon = load(f"bluesky/lexicons/{nsid.replace('.', '/')}.json")
    definition = lexicon["defs"][def_name]
    schema = definition[part]["schema"] if part else definition
    if schema.get("type") == "ref":
        target_nsid, _, target_def = schema["ref"].partition("#")
        return lexicon_errors(target_nsid or nsid, data, part="", def_name=target_def or "main")
    errors = [f"missing {name}" for name in schema.get("required", []) if name not in data]
    for name, value in data.items():
        declared = schema.get("properties", {}).get(name)
        if declared is None:
            errors.append(f"undeclared {name}")
            continue
        kind = _LEXICON_TYPES.get(declared.get("type"))
        if kind is not None and not (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
            errors.append(f"{name}: {type(value).__name__} is not {declared['type']}")
    return errors


# Fields Meta's node specs do not list because they only exist in an edge's answer or as a
# request modifier: `tasks` on /me/accounts entries, `metadata` from ?metadata=1.
_EDGE_ONLY = {"tasks", "metadata"}
_META_SCALARS = {"string": str, "bool": bool, "int": int, "unsigned int": int}


def meta_errors(node: str, data: dict[str, Any]) -> list[str]:
    spec = load(f"meta-graph/specs/{node}.json")
    fields = {f["name"]: f["type"] for f in spec["fields"]}
    edges = {a["endpoint"]: a["return"] for a in spec["apis"] if a.get("method") == "GET" and "endpoint" in a}
    errors = []
    for name, value in data.items():
        if name in _EDGE_ONLY:
            continue
        if name in fields:
            kind = _META_SCALARS.get(fields[name])
            if kind is not None and not isinstance(value, kind):
                errors.append(f"{name}: {type(value).__name__} is not {fields[name]}")
            elif kind is None and (ROOT / f"meta-graph/specs/{fields[name]}.json").exists() and isinstance(value, dict):
                errors += [f"{name}.{e}" for e in meta_errors(fields[name], value)]
        elif name not in edges:
            errors.append(f"{name} is neither a field nor an edge of {node}")
    return errors
