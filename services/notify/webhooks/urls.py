"""Where Liaison may send HTTP: http(s) only, and no private or loopback addresses unless
``LIAISON_NOTIFY_ALLOW_PRIVATE_URLS`` allows them (test servers, development).

The check runs when a URL is registered and again before every send, because a host name
can be re-pointed at an internal address after registration (DNS rebinding). A send then
connects to the very address that was checked (:func:`pinned`): looking the name up a second
time to connect would let a name answer with a public address first and a private one next.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UrlRefused(ValueError):
    """The URL may not be used; the message says why."""


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _is_public(address.ipv4_mapped)
    # is_global leaves out private, loopback, link-local, reserved and unspecified ranges, and
    # also the shared address space of carrier-grade NAT (100.64.0.0/10).
    return address.is_global and not address.is_multicast


async def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UrlRefused(f"host {host!r} does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def check_url(
    url: str, *, allow_private: bool, schemes: tuple[str, ...] = ("http", "https")
) -> Address | None:
    """Raise :class:`UrlRefused` unless ``url`` is an allowed target; the checked address
    to connect to (None when private targets are allowed: nothing was looked up)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"not a URL: {exc}") from exc
    if parts.scheme not in schemes:
        raise UrlRefused(f"the URL must use {' or '.join(schemes)}")
    host = parts.hostname
    if not host:
        raise UrlRefused("the URL has no host")
    if allow_private:
        return None
    default_port = 443 if parts.scheme == "https" else 80
    addresses = await _addresses(host, port or default_port)
    for address in addresses:
        if not _is_public(address):
            raise UrlRefused(f"{host} is a private, loopback or reserved address ({address})")
    return addresses[0]


def pinned(url: str, address: Address) -> tuple[str, dict[str, str], dict[str, str]]:
    """``url`` aimed at ``address``, with the ``Host`` header and the TLS server name (SNI,
    also what the certificate is checked against) that keep the original host name."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host == str(address):  # already an address: nothing to pin
        return url, {}, {}
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    original = f"{parts.hostname}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl(), {"host": original}, {"sni_hostname": host}
