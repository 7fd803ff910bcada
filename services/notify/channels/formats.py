"""Messages in the formats the chat platforms document, signed as they require.

* DingTalk custom robot: ``msgtype: markdown``; with a signing secret, ``timestamp`` (ms) and
  ``sign`` = URL-encoded base64 HMAC-SHA256(key=secret, msg="timestamp\\nsecret") go in the
  query string. A reply ``errcode`` other than 0 is a failure even with HTTP 200.
* WeCom group robot: ``msgtype: markdown`` with ``markdown.content``; reply ``errcode`` 0.
* Feishu / Lark custom bot: ``msg_type: post``; with a secret, ``timestamp`` (s) and
  ``sign`` = base64 HMAC-SHA256(key="timestamp\\nsecret", msg="") go in the body; reply
  ``code`` 0.
* Slack-style incoming webhook: ``{"text": ...}`` in mrkdwn; any 2xx.
* Generic JSON webhook: the message and the event; signed with Standard Webhooks headers when
  the channel has a ``whsec_`` secret; any 2xx.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import orjson

from services.notify.models import ChannelKind, Urgency
from services.notify.webhooks.signing import webhook_headers


@dataclass(frozen=True)
class ChatMessage:
    """What one chat group is told about one event."""

    channel_name: str
    title: str
    body: str
    link: str | None
    urgency: Urgency
    event_id: str
    event_type: str


@dataclass(frozen=True)
class HttpRequest:
    url: str
    headers: dict[str, str]
    body: bytes


def _open_label(link: str | None) -> str:
    return f"\n\n[查看详情 / Open]({link})" if link else ""


def _urgent_prefix(message: ChatMessage) -> str:
    return "【紧急 URGENT】" if message.urgency is Urgency.URGENT else ""


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's ``sign`` query value (already URL-encoded)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu / Lark's ``sign`` body field."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


def build_request(
    kind: ChannelKind, url: str, secret: str | None, message: ChatMessage, now_ms: int
) -> HttpRequest:
    """The HTTP request that posts ``message`` to a chat robot of ``kind``."""
    title = _urgent_prefix(message) + message.title
    headers = {"content-type": "application/json"}
    if kind is ChannelKind.DINGTALK:
        text = f"### {title}\n\n{message.body}{_open_label(message.link)}"
        body = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        if secret:
            separator = "&" if "?" in url else "?"
            url = f"{url}{separator}timestamp={now_ms}&sign={dingtalk_sign(secret, now_ms)}"
        return HttpRequest(url, headers, _json(body))
    if kind is ChannelKind.WECOM:
        colour = "warning" if message.urgency is Urgency.URGENT else "info"
        content = f'<font color="{colour}">**{title}**</font>\n> {message.body}'
        content += _open_label(message.link)
        return HttpRequest(
            url, headers, _json({"msgtype": "markdown", "markdown": {"content": content}})
        )
    if kind is ChannelKind.FEISHU:
        paragraphs: list[list[dict[str, str]]] = [[{"tag": "text", "text": message.body}]]
        if message.link:
            paragraphs.append([{"tag": "a", "text": "查看详情 / Open", "href": message.link}])
        feishu: dict[str, Any] = {
            "msg_type": "post",
            "content": {"post": {"zh_cn": {"title": title, "content": paragraphs}}},
        }
        if secret:
            seconds = now_ms // 1000
            feishu = {"timestamp": str(seconds), "sign": feishu_sign(secret, seconds), **feishu}
        return HttpRequest(url, headers, _json(feishu))
    if kind is ChannelKind.SLACK:
        text = f"*{title}*\n{message.body}"
        if message.link:
            text += f"\n<{message.link}|查看详情 / Open>"
        return HttpRequest(url, headers, _json({"text": text}))
    if kind is ChannelKind.WEBHOOK:
        generic = {
            "channel": message.channel_name,
            "title": title,
            "body": message.body,
            "link": message.link,
            "urgency": message.urgency.value,
            "eventId": message.event_id,
            "eventType": message.event_type,
        }
        raw = _json(generic)
        if secret:
            headers = webhook_headers([secret], message.event_id, now_ms // 1000, raw)
        return HttpRequest(url, headers, raw)
    raise ValueError(f"{kind} is not an HTTP chat channel")


def response_error(kind: ChannelKind, status_code: int, body: bytes) -> str | None:
    """Why the platform's reply means failure, or None for success."""
    if not 200 <= status_code < 300:
        return f"HTTP {status_code}"
    if kind in (ChannelKind.DINGTALK, ChannelKind.WECOM, ChannelKind.FEISHU):
        try:
            reply = orjson.loads(body)
        except orjson.JSONDecodeError:
            return "reply is not JSON"
        if not isinstance(reply, dict):
            return "reply is not a JSON object"
        code = reply.get("errcode", reply.get("code", reply.get("StatusCode", 0)))
        if code != 0:
            message = reply.get("errmsg", reply.get("msg", reply.get("StatusMessage", "")))
            return f"platform error {code}: {message}"
    return None
