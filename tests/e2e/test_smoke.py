from __future__ import annotations

import pytest

from tests.e2e.conftest import DESKTOP

pytestmark = pytest.mark.e2e


def test_staff_sign_in_page_renders_in_chinese_in_a_real_browser(new_page, transactional_db):
    page = new_page(DESKTOP)
    page.goto("/admin/login/")
    assert "工会会员卡普惠服务平台" in page.title()
    assert page.locator("#id_username").is_visible()
