"""``GET /directory/caller``: whether a token's caller is a partner client, for the gateway.

With trusted documents on (``gateway/persisted-documents.ts``), the gateway runs a document
sent as text only for partner clients; everyone else must name a registered document. A token
only names its caller, and only the directory says whether that is a partner client, so the
gateway asks here, with the caller's token and its own secret, and caches the answer for
``LIAISON_DIRECTORY_CACHE_SECONDS``. The route is not proxied by the gateway.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from shared.auth import GATEWAY_SECRET_HEADER, AuthError, Role, check_gateway_secret
from shared.authority import authenticate
from shared.runtime import ServiceRuntime


async def caller_endpoint(request: Request) -> Response:
    """``{"sub": ..., "partner": bool}``, or 401 with the reason the caller is refused."""
    runtime: ServiceRuntime = request.app.state.runtime
    try:
        check_gateway_secret(request.headers.get(GATEWAY_SECRET_HEADER), runtime.settings)
        principal = await authenticate(
            request.headers.get("authorization"), runtime.tokens, runtime.directory
        )
    except AuthError as exc:
        return PlainTextResponse(str(exc), status_code=401)
    # A partner client is only ever PARTNER (shared/authority.py), the rule NotPartner uses.
    partner = principal.roles == frozenset({Role.PARTNER})
    return JSONResponse({"sub": principal.sub, "partner": partner})


ROUTES = [Route("/directory/caller", caller_endpoint, methods=["GET"])]
