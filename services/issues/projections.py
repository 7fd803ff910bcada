"""What the issues service's changes mean for read models elsewhere (shared/projections.py)."""

from __future__ import annotations

from shared.projections import Projector

PROJECTORS: tuple[Projector, ...] = ()
