"""Browser journeys: Playwright for Python driving Debian's Chromium against a live server on the
real test database, with a real Celery worker where the journey needs one.

The browser is never downloaded: it is the system Chromium (`apt-get install chromium`), found on PATH
or through CHROMIUM_PATH. Without one, these tests are skipped and say how to enable them."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from playwright.sync_api import expect

from discounts.models import Offer

# Playwright's sync API runs an event loop in this thread; the Django test database is still
# used synchronously from it, which is safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = {
    "viewport": {"width": 375, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


SKIPPED_WITHOUT_CHROMIUM = (
    "browser journeys skipped: no Chromium found. Install it with `apt-get install chromium` "
    "(or set CHROMIUM_PATH) and run `make test` again."
)


def pytest_collection_modifyitems(config, items):
    if chromium_path():
        return
    skip = pytest.mark.skip(reason=SKIPPED_WITHOUT_CHROMIUM)
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def new_page(browser, request, live_server):
    """new_page(PHONE) → a Playwright page in a fresh context; a screenshot is saved on failure."""
    contexts = []
    for stale in ARTIFACTS.glob(f"{request.node.name}-*.png"):
        stale.unlink()  # from an earlier failed run of this test

    def make(device: dict | None = None, locale: str = "zh-CN"):
        context = browser.new_context(base_url=live_server.url, locale=locale, **(device or DESKTOP))
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for index, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            for number, page in enumerate(context.pages):
                page.screenshot(path=ARTIFACTS / f"{request.node.name}-{index}-{number}.png", full_page=True)
        context.close()


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    """The demo seeds about forty sign-ins; PBKDF2 at full strength would take most of each journey's
    time on a small machine. The live server runs in this process, so it checks with the same hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sms_outbox(settings):
    """Text messages sent by the live server, kept in memory (members.sms.MemorySmsBackend)."""
    from members import sms

    settings.SMS_BACKEND = "members.sms.MemorySmsBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def _ensure_categories() -> None:
    # The categories come from a data migration, which an earlier transactional test's flush removed.
    migration = importlib.import_module("merchants.migrations.0003_seed_categories")
    migration.seed_categories(apps, None)


@pytest.fixture
def demo(transactional_db):
    """The demo province, small, in the live server's database; returns the --json document."""
    return seeded_demo("--members", "400", "--merchants", "16", "--workplaces-per-county", "1")


def seeded_demo(*options: str) -> dict:
    """``seed_demo`` with ``options`` (its history included), then its --json document."""
    _ensure_categories()
    call_command("seed_demo", *options)
    out = StringIO()
    call_command("seed_demo", *options, "--json", stdout=out)
    return json.loads(out.getvalue())


def assert_page_basics(page) -> None:
    """Accessibility and layout basics every page must meet: a title, one main heading, a label for
    every form field, no horizontal scrolling at the current width."""
    page.wait_for_load_state()  # after a click that navigates, the new page may still be arriving
    assert page.title().strip(), "page has no title"
    expect(page.locator("h1"), f"expected one h1 on {page.url}").to_have_count(1)
    unlabeled = page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
            .filter(el => !['hidden', 'submit', 'button'].includes(el.type))
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""
    )
    assert unlabeled == [], f"form fields without a label on {page.url}: {unlabeled}"
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"horizontal scrolling of {overflow}px on {page.url}"


# --- Steps shared by the journeys ---------------------------------------------------------------------


def usable_every_day(demo: dict) -> tuple[dict, Offer]:
    """A demo merchant and one of its in-store offers that any member can use on any day and hour,
    so the journey does not depend on the weekday it runs on, and that takes money off a purchase of
    120 yuan (a fixed price above it saves nothing)."""
    ids = [offer["id"] for merchant in demo["merchants"] for offer in merchant["offers"]]
    offers = Offer.objects.in_bulk(ids)
    for merchant in demo["merchants"]:
        for entry in merchant["offers"]:
            offer = offers[entry["id"]]
            if (
                offer.status == Offer.Status.PUBLISHED
                and offer.channel == Offer.Channel.IN_STORE
                and offer.kind in (Offer.Kind.AMOUNT_OFF, Offer.Kind.PERCENT_OFF, Offer.Kind.FIXED_PRICE)
                and (offer.fixed_price is None or offer.fixed_price < 120)
                and (offer.min_spend is None or offer.min_spend <= 120)
                and not offer.weekdays
                and offer.time_from is None
                and offer.eligible_union_id is None
                and not offer.eligible_groups
                and not offer.stores.exists()
            ):
                return merchant, offer
    raise AssertionError("the demo has no offer open to every member every day")


def switch_language_and_back(page) -> None:
    """Use the language switch in the page header: English, then back to Simplified Chinese, staying on
    the same page each time. (The switch names each language in itself: English / 简体中文.)"""
    path = page.url
    switch = page.locator("form.lang-switch")
    switch.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.url == path
    assert_page_basics(page)
    switch.get_by_role("button", name="简体中文").click()
    # Django's admin writes the code as zh-hans, the portal's own pages the BCP 47 form zh-Hans.
    expect(page.locator("html")).to_have_attribute("lang", re.compile(r"^zh-hans$", re.IGNORECASE))
    assert page.url == path


def staff_sign_in(page, username: str, password: str, next_url: str = "/admin/") -> None:
    """Sign in on the staff (admin) sign-in page."""
    page.goto(f"/admin/login/?next={next_url}")
    assert_page_basics(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(re.escape(next_url) + r"$"))


def merchant_sign_in(page, username: str, password: str) -> None:
    """Sign in on the merchant portal's own sign-in page; lands on the portal home."""
    page.goto("/merchant/login/")
    assert_page_basics(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/merchant/$"))


def member_sign_in(page, phone: str, outbox: list) -> None:
    """On the member sign-in page (already open): phone, the one-time code from the text message,
    and the consent page the first time. Ends on the page the sign-in was asked for."""
    expect(page.get_by_role("heading", level=1)).to_have_text("会员登录")
    assert_page_basics(page)
    sent = len(outbox)
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_label("短信验证码")).to_be_visible()
    assert_page_basics(page)
    assert len(outbox) == sent + 1 and outbox[-1].phone == phone, "no sign-in code was texted"
    code = re.search(r"\d{6}", outbox[-1].text).group()
    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(lambda url: "/me/sign-in/" not in url)
    if "/me/consent/" in page.url:
        assert_page_basics(page)
        page.get_by_label("我已阅读并同意").check()
        page.get_by_role("button", name="同意并继续").click()
        page.wait_for_url(lambda url: "/me/consent/" not in url)
