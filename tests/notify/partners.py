"""Fake partner endpoints and chat robots: real HTTP servers (pytest-httpserver) that record
what they receive and answer from a script."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


class Receiver:
    """Records every POST to ``path``; answers ``statuses`` in turn, then 200."""

    def __init__(
        self,
        server: HTTPServer,
        path: str,
        statuses: list[int] | None = None,
        *,
        always: int | None = None,
        delay: float = 0.0,
        reply: str = "ok",
        answer: Callable[[dict[str, str], bytes, dict[str, str]], tuple[int, str]] | None = None,
    ) -> None:
        self.answer = answer
        self.received: list[tuple[dict[str, str], bytes, dict[str, str]]] = []
        self.statuses = list(statuses or [])
        self.always = always
        self.delay = delay
        self.reply = reply
        self.lock = threading.Lock()
        self.url = server.url_for(path)
        server.expect_request(path, method="POST").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        with self.lock:
            headers = {k.lower(): v for k, v in request.headers.items()}
            body, args = request.get_data(), dict(request.args)
            self.received.append((headers, body, args))
            status = self.statuses.pop(0) if self.statuses else (self.always or 200)
            reply = self.reply
            if self.answer is not None:
                status, reply = self.answer(headers, body, args)
        if self.delay:
            time.sleep(self.delay)
        return Response(reply, status=status, content_type="application/json")

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def headers(self, index: int) -> dict[str, str]:
        return self.received[index][0]

    def body(self, index: int) -> bytes:
        return self.received[index][1]

    def query(self, index: int) -> dict[str, Any]:
        return self.received[index][2]
