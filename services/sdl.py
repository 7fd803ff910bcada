"""Print each subgraph's SDL to ``services/<name>/schema.graphql`` (or check it is current).

``python -m services.sdl`` writes the files; ``--check`` exits 1 if any differs. The gateway's
composition reads these files, so the supergraph is built without running any service.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from services import SERVICE_NAMES
from shared.settings import Settings

SERVICES_DIR = Path(__file__).parent


def printed_sdl(service: str) -> str:
    """The federation SDL of ``service``, exactly as composition sees it."""
    schema = importlib.import_module(f"services.{service}.schema").create_schema(Settings())
    sdl: str = schema.as_str()
    return sdl.rstrip() + "\n"


def sdl_path(service: str) -> Path:
    return SERVICES_DIR / service / "schema.graphql"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a committed file is stale")
    parser.add_argument("services", nargs="*", default=list(SERVICE_NAMES))
    args = parser.parse_args()
    stale = []
    for service in args.services:
        path, sdl = sdl_path(service), printed_sdl(service)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == sdl:
            continue
        if args.check:
            stale.append(str(path))
        else:
            path.write_text(sdl, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("stale SDL (run `python -m services.sdl`):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
