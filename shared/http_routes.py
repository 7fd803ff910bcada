"""Plain HTTP routes of a subgraph besides ``/graphql`` (files, invites, the gateway's
questions): who is calling, checked exactly as ``/graphql`` checks it."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from shared.auth import GATEWAY_SECRET_HEADER, AuthError, Principal, check_gateway_secret
from shared.authority import authenticate
from shared.runtime import ServiceRuntime


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def caller(request: Request) -> Principal:
    """The route's caller: the gateway's secret and a token the directory knows, else a 401
    (Starlette's HTTPException, plain text) saying why."""
    runtime = runtime_of(request)
    try:
        check_gateway_secret(request.headers.get(GATEWAY_SECRET_HEADER), runtime.settings)
        return await authenticate(
            request.headers.get("authorization"), runtime.tokens, runtime.directory
        )
    except AuthError as exc:
        raise HTTPException(401, str(exc)) from exc
