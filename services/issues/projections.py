"""What the issues service's changes mean for read models elsewhere (shared/projections.py)."""

from __future__ import annotations

from services.issues import search_documents, work_items
from shared.projections import Projector

PROJECTORS: tuple[Projector, ...] = (work_items.project, search_documents.project)
