"""Write the openAPIV3Schema of CustomResourceDefinitions as the JSON files the tests read.

Usage: ``python tests/deploy/crds/vendor.py <out-dir> < crds.yaml`` (one or more CRDs in one
YAML stream). Each served version becomes ``<out-dir>/<kind>.<version>.json`` holding the
group, version, kind and schema. Descriptions are dropped: they are most of the upstream
files' size and validation never reads them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml


def without_descriptions(node: Any) -> Any:
    """``node`` with every schema's ``description`` text removed, recursively (a property
    named ``description`` is a schema, not a text, and stays)."""
    if isinstance(node, dict):
        return {
            k: without_descriptions(v)
            for k, v in node.items()
            if not (k == "description" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [without_descriptions(v) for v in node]
    return node


def vendor(crd: dict[str, Any], out: Path) -> list[Path]:
    """One JSON file per served version of ``crd``; the paths written."""
    spec = crd["spec"]
    written = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        target = out / f"{spec['names']['kind']}.{version['name']}.json"
        document = {
            "group": spec["group"],
            "version": version["name"],
            "kind": spec["names"]["kind"],
            "schema": without_descriptions(version["schema"]["openAPIV3Schema"]),
        }
        target.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
        written.append(target)
    return written


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for crd in yaml.safe_load_all(sys.stdin):
        if crd and crd.get("kind") == "CustomResourceDefinition":
            for path in vendor(crd, out):
                print(path)


if __name__ == "__main__":
    main()
