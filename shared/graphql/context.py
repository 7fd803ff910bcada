"""Per-request GraphQL context: the caller, the service runtime and per-request DataLoaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from shared.auth import Principal
from shared.graphql.error_codes import ErrorCode
from shared.graphql.errors import PublicError
from shared.runtime import ServiceRuntime

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
BatchLoad = Callable[[ServiceRuntime, Sequence[K]], Awaitable[Sequence[V]]]


@dataclass
class Context:
    """What resolvers get as ``info.context``."""

    runtime: ServiceRuntime
    request: Request | WebSocket
    principal_or_none: Principal | None = None
    connection_params: dict[str, Any] | None = None
    _loaders: dict[Callable[..., Any], DataLoader[Any, Any]] = field(default_factory=dict)

    @property
    def principal(self) -> Principal:
        if self.principal_or_none is None:  # only before a WebSocket's connection_init
            raise PublicError("not authenticated", ErrorCode.UNAUTHENTICATED)
        return self.principal_or_none

    def loader(self, batch: BatchLoad[K, V]) -> DataLoader[K, V]:
        """The request's DataLoader for ``batch`` (one per request, so no cross-user cache)."""
        existing = self._loaders.get(batch)
        if existing is None:

            async def load(keys: list[K]) -> Sequence[V]:
                return await batch(self.runtime, keys)

            existing = DataLoader(load_fn=load)
            self._loaders[batch] = existing
        return existing


Info = StrawberryInfo[Context, None]
