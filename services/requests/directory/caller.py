"""``GET /directory/caller``: whether a token's caller is a partner client, for the gateway.

With trusted documents on (``gateway/persisted-documents.ts``), the gateway runs a document
sent as text only for partner clients; everyone else must name a registered document. A token
only names its caller, and only the directory says whether that is a partner client, so the
gateway asks here, with the caller's token and its own secret, and caches the answer for
``LIAISON_DIRECTORY_CACHE_SECONDS``. The route is not proxied by the gateway.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.auth import Role
from shared.http_routes import caller


async def caller_endpoint(request: Request) -> Response:
    """``{"sub": ..., "partner": bool}``, or 401 with the reason the caller is refused."""
    principal = await caller(request)
    # A partner client is only ever PARTNER (shared/authority.py), the rule NotPartner uses.
    partner = principal.roles == frozenset({Role.PARTNER})
    return JSONResponse({"sub": principal.sub, "partner": partner})


ROUTES = [Route("/directory/caller", caller_endpoint, methods=["GET"])]
