"""Where notify may send: the check of a target URL, and the pinning of the checked address
(a host name is looked up once, and the send connects to that very address)."""

from __future__ import annotations

import ipaddress

import pytest
from pytest_httpserver import HTTPServer

from services.notify.delivery.senders import HttpSend, post
from services.notify.webhooks.urls import UrlRefused, check_url, pinned
from shared.settings import Settings
from tests.notify.partners import Receiver

PUBLIC = ipaddress.ip_address("93.184.216.34")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://partner.example/hook?x=1",
            ("https://93.184.216.34/hook?x=1", "partner.example", "partner.example"),
        ),
        (
            "http://partner.example:8080/hook",
            ("http://93.184.216.34:8080/hook", "partner.example:8080", "partner.example"),
        ),
    ],
)
def test_a_pinned_url_keeps_the_host_name_for_host_header_and_tls(
    url: str, expected: tuple[str, str, str]
) -> None:
    target, headers, extensions = pinned(url, PUBLIC)
    assert (target, headers["host"], extensions["sni_hostname"]) == expected


def test_an_ipv6_address_is_bracketed_and_an_address_url_left_alone() -> None:
    address = ipaddress.ip_address("2001:db8::1")
    assert pinned("https://partner.example/h", address)[0] == "https://[2001:db8::1]/h"
    assert pinned("https://93.184.216.34/h", PUBLIC) == ("https://93.184.216.34/h", {}, {})


async def test_the_check_returns_the_address_it_found_public() -> None:
    assert await check_url("https://93.184.216.34/h", allow_private=False) == PUBLIC
    assert await check_url("http://localhost:1/h", allow_private=True) is None
    with pytest.raises(UrlRefused, match="private"):
        await check_url("http://100.64.0.1/h", allow_private=False)


async def test_the_send_connects_to_the_checked_address_not_a_new_lookup(
    httpserver: HTTPServer, settings: Settings
) -> None:
    partner = Receiver(httpserver, "/hook")
    # A name that resolves nowhere: only the pinned address can reach the partner.
    url = partner.url.replace("localhost", "partner.invalid")
    loopback = ipaddress.ip_address("127.0.0.1")
    outcome = await post(settings, HttpSend(url, {}, b"{}", None), loopback)
    assert outcome.ok, outcome.error
    assert partner.headers(0)["host"] == f"partner.invalid:{httpserver.port}"
    unpinned = await post(settings, HttpSend(url, {}, b"{}", None), None)
    assert not unpinned.ok
