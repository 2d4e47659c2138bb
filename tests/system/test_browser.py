"""Real-browser tests: headless Debian Chromium, driven by Playwright, against `voicecart serve`.

`make test` installs Debian's chromium when it is missing (as root); elsewhere these
tests are skipped with the reason, except under CI where a missing browser fails.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import alexa
import pytest
from serverproc import Server
from testkit import CHROMIUM_FLAGS

pytestmark = [pytest.mark.browser, pytest.mark.server]

SECRET = "browser-test-secret"
REDIRECT = "https://pitangui.amazon.com/api/skill/link/M2BROWSERTEST"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(
        tmp_path,
        verify=False,
        VOICECART_DEMO_SHOPPER_FOR_UNLINKED="0",
        VOICECART_SECURE_COOKIES="0",
        VOICECART_OAUTH_CLIENT_SECRET=SECRET,
        VOICECART_OAUTH_REDIRECT_URIS=REDIRECT,
    )
    yield running
    running.stop()


@pytest.fixture
def page(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        yield context.new_page()
        browser.close()


def _token(server: Server, code: str) -> str:
    basic = base64.b64encode(f"alexa-skill:{SECRET}".encode()).decode()
    form = urllib.parse.urlencode(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    ).encode()
    request = urllib.request.Request(
        f"{server.url}/oauth/token", data=form, headers={"Authorization": f"Basic {basic}"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return str(json.loads(reply.read())["access_token"])


def _say(server: Server, token: str, intent: str, **slots: str) -> str:
    status, payload = server.post(
        json.dumps(alexa.intent(intent, slots, access_token=token)).encode()
    )
    assert status == 200, payload
    return alexa.speech(payload)


def _link(server: Server, page: Any) -> str:
    """Walk the linking flow as Alexa's in-app browser would; return the access token."""
    landed: list[str] = []

    def alexa_redirect(route: Any) -> None:  # the redirect lands at Amazon: catch it
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>Linked</p>")

    page.route("https://pitangui.amazon.com/**", alexa_redirect)
    query = urllib.parse.urlencode({"response_type": "code", "client_id": "alexa-skill",
                                    "redirect_uri": REDIRECT, "state": "st-42"})  # fmt: skip
    page.goto(f"{server.url}/oauth/authorize?{query}")
    assert page.inner_text("h1") == "Link Voice Cart to Alexa"
    page.fill("#signup-name", "Robin")
    page.fill("#signup-email", "robin@example.com")
    page.fill("#signup-address", "9 Birch Close")
    page.fill("#signup-password", "a browser password")
    page.click("#signup")
    page.wait_for_selector("#allow")
    assert "robin@example.com" in page.content()
    page.click("#allow")
    page.wait_for_url(REDIRECT + "?**", timeout=15_000)
    assert page.inner_text("p") == "Linked"
    assert landed, page.url
    query_back = urllib.parse.parse_qs(urllib.parse.urlsplit(landed[0]).query)
    assert query_back["state"] == ["st-42"]
    return _token(server, query_back["code"][0])


def test_link_in_a_browser_then_alexa_hears_that_shoppers_cart(server: Server, page: Any) -> None:
    assert "link your Voice Cart account" in _say(server, "", "ReadCartIntent")
    token = _link(server, page)
    assert _say(server, token, "ReadCartIntent").startswith("Your cart is empty")
    assert _say(server, token, "AddToCartIntent", item="bananas", quantity="3").startswith(
        "Added 3"
    )
    assert "3 Sunny Acres Bananas" in _say(server, token, "ReadCartIntent")


def test_voice_addition_seen_and_removed_on_the_cart_page(
    server: Server, page: Any, tmp_path: Path
) -> None:
    token = _link(server, page)  # the browser is signed in by the linking flow
    assert _say(server, token, "AddToCartIntent", item="dish soap").startswith("Added 1")
    page.goto(f"{server.url}/cart")
    assert "Dish Soap" in page.inner_text("li.line .name")
    assert "added via Alexa" in page.inner_text("li.line")
    page.screenshot(path=str(tmp_path / "cart.png"))  # kept by pytest for a look on failure
    page.click("li.line button.remove")
    page.wait_for_selector("#empty")
    assert _say(server, token, "ReadCartIntent").startswith("Your cart is empty")
