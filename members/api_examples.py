"""Examples of the member API's requests and answers, as the schema (``/api/schema/``) shows them to an
integrator: the values a demo member would see, masked as the API masks them."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

UNION = {"code": "130102001", "name": "长安区第一机械厂工会"}
CARD = {
    "number_masked": "6217 **** **** 3386",
    "status": "active",
    "bank": "河北银行",
    "issued_at": "2026-03-02T10:15:00+08:00",
    "activated_at": "2026-03-05T09:41:27+08:00",
}
ME = {
    "name_masked": "张*丰",
    "phone_masked": "138****6621",
    "id_number_masked": "130102********1234",
    "status": "active",
    "groups": ["model_worker"],
    "union": UNION,
    "consent_at": "2026-03-05T09:40:02+08:00",
    "card": CARD,
}
NOTIFICATION = {
    "id": 381,
    "topic": "card_ready",
    "topic_label": "会员卡已开通",
    "title": "您的工会会员卡已开通",
    "body": "河北银行已为您开立工会会员卡，尾号3386，可到网点领取。",
    "link": "/me/card/",
    "created_at": "2026-12-05T16:20:11+08:00",
    "read_at": None,
    "unread": True,
}
APPLICATION = {
    "id": 57,
    "bank": {"id": 1, "name": "河北银行"},
    "status": "pending",
    "reason": "",
    "created_at": "2026-12-06T10:02:44+08:00",
    "decided_at": None,
}
TRANSFER = {
    "id": 23,
    "to_union": {"code": "130104002", "name": "桥西区纺织厂工会"},
    "note": "已调入桥西区纺织厂工作",
    "status": "pending",
    "reason": "",
    "created_at": "2026-12-06T10:05:13+08:00",
    "decided_at": None,
}


def answer(name: str, value, status: str = "200") -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[status])


def request(name: str, value) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)


OTP_REQUEST = [
    request("Phone", {"phone": "13800136621"}),
    answer("Code sent", {"detail": "验证码已发送。", "expires_in": 300}),
]
OTP_VERIFY = [
    request("Phone and code", {"phone": "13800136621", "code": "482915"}),
    answer(
        "Signed in",
        {"token": "mt_4Qm9J2xV7cW1pLr8sN3aT6yZ0bK5dE", "expires_at": "2027-01-05T10:00:00+08:00"},
    ),
]
ME_ANSWER = [answer("Member", ME)]
CARD_TOKEN = [
    answer(
        "Card code",
        {
            "token": "v1.1042.1765001100.Zk3n9QbX2mR8",
            "expires_in": 60,
            "card_number_masked": "6217 **** **** 3386",
            "qr_svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 37 37">…</svg>',
            "short_code": "482915730164",
            "short_code_display": "4829 1573 0164",
            "barcode_svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 178 40">…</svg>',
        },
    )
]
INBOX = {"count": 1, "next": None, "previous": None, "unread_count": 1, "results": [NOTIFICATION]}
NOTIFICATIONS = [answer("Inbox", INBOX)]
NOTIFICATION_READ = [
    answer("Read", {**NOTIFICATION, "read_at": "2026-12-06T08:30:00+08:00", "unread": False}),
]
NOTIFICATIONS_READ_ALL = [answer("Marked", {"marked": 3})]
# A list's example is one item: the schema shows it as the list's element.
APPLICATIONS = [answer("Applications", APPLICATION)]
APPLICATION_CREATE = [request("Bank", {"bank": 1}), answer("Applied", APPLICATION, "201")]
TRANSFERS = [answer("Transfer requests", TRANSFER)]
TRANSFER_CREATE = [
    request("Receiving union", {"to_union": "130104002", "note": "已调入桥西区纺织厂工作"}),
    answer("Asked", TRANSFER, "201"),
]
UNDO_LOST = [answer("Card active again", CARD)]
