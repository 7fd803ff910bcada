"""The operators' CustomResourceDefinition schemas (vendored, see README.md), as validators
that judge an object the way the API server does.

A CRD's ``openAPIV3Schema`` is a *structural* schema: the API server prunes, and with strict
field validation (``kubectl apply``'s default) refuses, any field the schema does not declare,
unless ``x-kubernetes-preserve-unknown-fields`` keeps it. JSON Schema lets unknown fields
through, so every object schema that declares properties is closed here
(``additionalProperties: false``). CEL rules (``x-kubernetes-validations``) are not evaluated.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]

CRDS = Path(__file__).parent
Schema = dict[str, Any]
_EMBEDDED_FIELDS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}


def structural(schema: Schema) -> Schema:
    """``schema`` with unknown fields refused where Kubernetes refuses them."""
    out = {key: _structural_value(key, value) for key, value in schema.items()}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-embedded-resource"):  # a whole object: its own type fields
        out["properties"] = {
            **_EMBEDDED_FIELDS,
            "metadata": {"type": "object"},
            **out.get("properties", {}),
        }
    open_ended = out.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in out
    if "properties" in out and not open_ended:
        out["additionalProperties"] = False
    return out


def _structural_value(key: str, value: Any) -> Any:
    if key in ("properties", "patternProperties"):
        return {name: structural(sub) for name, sub in value.items()}
    if key in ("items", "additionalProperties", "not") and isinstance(value, dict):
        return structural(value)
    if key in ("allOf", "anyOf", "oneOf"):
        return [structural(sub) for sub in value]
    return value


@lru_cache(maxsize=1)
def validators() -> dict[tuple[str, str], Any]:
    """A validator per ``(apiVersion, kind)`` of every vendored schema."""
    found = {}
    for path in sorted(CRDS.glob("*/*.json")):
        crd = json.loads(path.read_text())
        api_version = f"{crd['group']}/{crd['version']}"
        found[api_version, crd["kind"]] = jsonschema.Draft4Validator(structural(crd["schema"]))
    return found


def groups() -> set[str]:
    """The API groups whose schemas are vendored."""
    return {api_version.split("/")[0] for api_version, _ in validators()}


def crd_errors(obj: dict[str, Any]) -> list[str]:
    """What the API server would refuse in ``obj`` (one line per error, with its path);
    KeyError when no vendored schema has its kind."""
    validator = validators()[obj["apiVersion"], obj["kind"]]
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(
            validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path]
        )
    ]
