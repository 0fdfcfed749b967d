"""The member app on a phone in Chromium: it can be added to the home screen, and the card page opens
without a connection for as long as its last code is valid — then it says a connection is needed.
Signing out leaves nothing behind."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    PHONE,
    assert_page_basics,
    chromium_path,
    member_sign_in,
)

pytestmark = pytest.mark.e2e

CODE_WINDOW_SECONDS = 20  # the card token's lifetime in this test (90 s in production)
STORED_CODE = """async () => {
    const cache = await caches.open("member-card");
    const code = await cache.match("/me/card/offline-code.json");
    const page = await cache.match("/me/card/");
    if (!code || !page) { return null; }
    return await code.json();
}"""


@pytest.fixture
def app_page(browser, live_server, tmp_path, request):
    """A phone page in a browser profile of its own on disk: Chromium installs no app from an
    incognito context, which is what the other journeys' contexts are."""
    context = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=chromium_path(),
        args=CHROMIUM_ARGS,
        base_url=live_server.url,
        locale="zh-CN",
        **PHONE,
    )
    context.set_default_timeout(15_000)
    page = context.pages[0] if context.pages else context.new_page()
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"{request.node.name}-app.png", full_page=True)
    context.close()


def stored_code(page, *, newer_than: dict | None = None, timeout: float = 15) -> dict:
    """The code the app keeps for offline use, once it is there (and newer than ``newer_than``).
    Polled here: wait_for_function does not wait for a promise to settle."""
    for _attempt in range(int(timeout * 5)):
        code = page.evaluate(STORED_CODE)
        if code and (newer_than is None or code["expiresAt"] > newer_than["expiresAt"]):
            return code
        page.wait_for_timeout(200)
    raise AssertionError("the card page and its code were not kept for offline use")


def installability_errors(page) -> list:
    cdp = page.context.new_cdp_session(page)
    try:
        manifest = cdp.send("Page.getAppManifest")
        assert manifest.get("errors", []) == [], manifest["errors"]
        assert manifest["url"].endswith(".webmanifest")
        return cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    finally:
        cdp.detach()


def wait_for_worker(page) -> None:
    assert page.evaluate("() => navigator.serviceWorker.ready.then(r => !!r.active)")


def test_the_province_and_a_city_site_can_be_installed(app_page, demo):
    page = app_page
    for url in ("/", "/c/tangshan/"):
        page.goto(url)
        wait_for_worker(page)
        assert installability_errors(page) == [], url
    manifest = page.evaluate(
        "() => fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())"
    )
    assert manifest["name"] == "唐工惠" and manifest["display"] == "standalone"


def test_the_card_opens_offline_while_its_code_is_valid_then_asks_for_a_connection(
    app_page, demo, sms_outbox, settings
):
    settings.CARD_TOKEN_TTL_SECONDS = CODE_WINDOW_SECONDS
    member = next(m for m in demo["members"] if m["card_status"] == "active")
    page = app_page
    context = page.context

    # First visit, online: sign in; the app's worker installs and keeps the card page and its code.
    page.goto("/me/sign-in/?next=/me/card/")
    member_sign_in(page, member["phone"], sms_outbox)
    page.wait_for_url(re.compile(r"/me/card/$"))
    wait_for_worker(page)
    assert installability_errors(page) == []
    first = stored_code(page)

    # A fresh page online: a code just received, most of its window still ahead.
    page.reload()
    stored = stored_code(page, newer_than=first)
    expect(page.locator('[data-role="token"]')).to_have_text(stored["token"])
    # The code the script fetched replaced the one in the page, and is drawn.
    expect(page.locator("#card-qr svg")).to_be_visible()
    assert page.locator("#card-qr svg").bounding_box()["width"] >= 150

    # Offline: the page opens from the app, with that code and the time it is valid until.
    context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    expect(page.get_by_role("heading", level=1)).to_have_text("我的会员卡")
    assert_page_basics(page)
    qr = page.locator("#card-qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box and box["width"] >= 150, f"the QR code is too small to scan: {box}"
    expect(page.locator('[data-role="token"]')).to_have_text(stored["token"])
    note = page.locator('[data-role="offline-note"]')
    expect(note).to_be_visible()
    expect(note).to_contain_text("前有效")
    expect(page.locator('[data-role="needs-connection"]')).to_be_hidden()

    # When the window has passed, the code goes and the page says a connection is needed.
    needs_connection = page.locator('[data-role="needs-connection"]')
    expect(needs_connection).to_be_visible(timeout=(CODE_WINDOW_SECONDS + 15) * 1000)
    expect(needs_connection).to_contain_text("需要联网")
    expect(qr).to_have_count(0)
    expect(page.locator('[data-role="token-box"]')).to_be_hidden()
    assert page.evaluate(STORED_CODE) is None, "the expired code or the card page was kept"

    # Opened again offline after the window: nothing personal is left, only the offline page.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("没有网络连接")
    expect(page.get_by_text("需要联网才能刷新")).to_be_visible()
    expect(page.locator("#card-qr")).to_have_count(0)

    # Back online, the card works as before; signing out deletes the app's copy of it.
    context.set_offline(False)
    page.goto("/me/card/")
    expect(page.locator("#card-qr svg")).to_be_visible()
    stored_code(page)
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r"/me/sign-in/"))
    assert page.evaluate("() => caches.has('member-card')") is False
