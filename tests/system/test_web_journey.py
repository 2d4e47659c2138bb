"""The whole web journey in Debian's Chromium, on a laptop and on a phone, with voice
turns in between, and axe-core's accessibility check on every page it passes.

Create an account, find and add products, change a quantity, check out, see the
order, cancel it, buy again, return a line of a delivered order. Between steps a voice
turn (through ``/alexa``) hears the web's changes, and the page shows the voice's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import alexa
import pytest
from serverproc import ROOT, Server, cli_command
from testkit import CHROMIUM_FLAGS

pytestmark = [pytest.mark.browser, pytest.mark.server]

AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def axe() -> str:
    if not AXE.is_file():
        if os.environ.get("CI"):
            pytest.fail("axe-core is missing; `make test` installs it (npm ci --prefix tests/a11y)")
        pytest.skip("axe-core not installed: `make test` runs npm ci --prefix tests/a11y")
    return AXE.read_text("utf-8")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, verify=False, VOICECART_DEMO_SHOPPER_FOR_UNLINKED="0",
                     VOICECART_SECURE_COOKIES="0", VOICECART_TAX_BPS="825")  # fmt: skip
    yield running
    running.stop()


def _cli(server: Server, *args: str) -> str:
    done = subprocess.run(cli_command(*args), env=server.env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _say(server: Server, token: str, intent: str, **slots: str) -> dict[str, Any]:
    envelope = alexa.intent(intent, slots, access_token=token)
    status, payload = server.post(json.dumps(envelope).encode())
    assert status == 200, payload
    return payload


def _accessible(page: Any, axe_source: str, where: str) -> None:
    """axe-core on the page as shown: no serious or critical violation."""
    page.add_script_tag(content=axe_source)
    found = page.evaluate("async () => (await axe.run(document)).violations.map(v => "
                          "({id: v.id, impact: v.impact, nodes: v.nodes.length, "
                          "help: v.help}))")  # fmt: skip
    bad = [v for v in found if v["impact"] in SERIOUS]
    assert not bad, f"{where}: {bad}"


@pytest.mark.parametrize("width", [1280, 390], ids=["laptop", "phone"])
def test_the_whole_web_journey_with_voice_in_between(
    server: Server,
    chromium: str,
    axe: str,
    width: int,
) -> None:
    from playwright.sync_api import sync_playwright

    email = f"journey{width}@example.com"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()

        def visit(path: str, where: str) -> None:
            page.goto(f"{server.url}{path}")
            _accessible(page, axe, where)

        visit("/", "front door")
        assert page.inner_text("h1") == "Voice Cart"
        visit("/nowhere", "not found page")
        assert "There is no page at this address" in page.content()
        visit("/developers", "developers page")
        page.click("#api-docs")
        _accessible(page, axe, "API reference")
        assert "POST /api/v1/checkout" in page.inner_text("main")

        # Create an account.
        visit("/", "front door")
        page.click("#home-signup")
        _accessible(page, axe, "sign-up page")
        page.fill("#name", "Jo Journey")
        page.fill("#signup-email", email)
        page.fill("#address", "12 Harbour Road")
        page.fill("#new-password", "a long journey password")
        page.click("#signup")
        page.wait_for_url("**/cart")
        assert "Welcome, Jo Journey" in page.content()
        _accessible(page, axe, "empty cart")

        # Find and add products.
        page.fill("#q", "oat milk")
        page.press("#q", "Enter")
        page.wait_for_selector("#results")
        _accessible(page, axe, "search results")
        page.locator("#results button").first.click()
        page.wait_for_selector("li.line")
        assert "You have 1 in your cart" in page.content()

        # A voice turn hears it; voice adds bananas, and the page shows them.
        token = _cli(server, "token", "--email", email).strip()
        heard = alexa.speech(_say(server, token, "ReadCartIntent"))
        assert "Oat Milk" in heard and "on the web today" in heard
        _say(server, token, "AddToCartIntent", item="bananas", quantity="2")
        page.goto(f"{server.url}/cart")
        assert "Sunny Acres Bananas" in page.inner_text("#lines")
        assert "added via Alexa" in page.inner_text("#lines")

        # Change a quantity with the stepper.
        bananas = page.locator("li.line", has_text="Bananas")
        bananas.get_by_role("button", name="One more Sunny Acres Bananas").click()
        page.wait_for_function("document.querySelector('li.line input.qty[value=\"3\"]')")
        _accessible(page, axe, "cart with lines")
        total = page.inner_text("#total")
        spoken = alexa.speech(_say(server, token, "CheckoutIntent"))
        assert total in spoken  # the page and the voice quote the same total
        if os.environ.get("VOICECART_SCREENSHOTS"):  # the README's pictures
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"cart-{width}.png"), full_page=True)

        # Check out, see the order, cancel it.
        page.click("#checkout")
        page.wait_for_url(re.compile(r".*/orders/\d+$"))
        order_id = page.url.rsplit("/", 1)[1]
        assert "is placed" in page.content()
        _accessible(page, axe, "order page")
        page.click("#cancel")
        page.wait_for_selector("#status:has-text('cancelled')")
        heard = alexa.speech(_say(server, token, "OrderStatusIntent"))
        assert heard.startswith(f"You cancelled order {order_id} on the web.")

        # Buy again: reorder the cancelled order into the cart, check out again.
        page.click("#reorder")
        page.wait_for_url("**/cart")
        assert "items are in your cart" in page.content()
        page.click("#checkout")
        page.wait_for_url(re.compile(r".*/orders/\d+$"))
        second = page.url.rsplit("/", 1)[1]
        visit("/orders", "orders page")
        assert f'data-order="{second}"' in page.content()
        assert f'data-order="{order_id}"' in page.content()
        if os.environ.get("VOICECART_SCREENSHOTS"):
            page.screenshot(path=str(SCREENSHOTS / f"orders-{width}.png"), full_page=True)

        # Delivered (the warehouse's side), then return a line on the web.
        for _ in range(3):
            _cli(server, "orders", "advance", second)
        visit(f"/orders/{second}", "delivered order")
        page.locator("form.return").first.get_by_role("button").click()
        page.wait_for_selector("#returns")
        assert "is started" in page.content()
        _accessible(page, axe, "order with a return")
        assert "requested" in _cli(server, "returns", "list")

        # Voice empties the cart; the page agrees.
        page.goto(f"{server.url}/cart")
        assert "Your cart is empty" in page.content()
        _say(server, token, "AddToCartIntent", item="limes")
        offer = _say(server, token, "EmptyCartIntent")
        assert "Should I take everything out?" in alexa.speech(offer)
        stop = alexa.intent("AMAZON.StopIntent", access_token=token,
                            attributes=alexa.attributes(offer))  # fmt: skip
        status, said = server.post(json.dumps(stop).encode())
        assert status == 200 and "I didn't empty your cart" in alexa.speech(said)
        page.goto(f"{server.url}/cart")
        assert "Sunny Acres Limes" in page.inner_text("#lines")

        # Sign out; the cart asks for a sign-in again.
        page.click("#signout")
        page.goto(f"{server.url}/cart")
        page.wait_for_url("**/account/signin**")
        _accessible(page, axe, "sign-in page")
        browser.close()
