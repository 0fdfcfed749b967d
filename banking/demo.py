"""The demo's bank exchange: a staff sign-in for each demo bank, and files of every kind — the bank's
answer to the completed demo batch (most cards opened, two rejected), a card-changes export, and the
daily transactions of last month and this month (with a few refused lines) — so every bank page, the
rejections to-do and the dashboard's card use are filled.

Idempotent: the files are made once (their names start with ``demo-``); the sign-ins are listed
every time, with passwords derived from the seed."""

from __future__ import annotations

import csv
import datetime
import io
import random

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from stdnum import luhn

from banking import card_changes, files, tasks
from banking.models import BankFile, BankStaff
from banking.transactions import HEADERS as TRANSACTION_HEADERS
from members.cards import card_activate, card_freeze, card_replace
from members.demo import DEMO_BANKS, DEMO_BATCH_PREFIX, demo_secret
from members.models import Card, IssuanceBatch, PartnerBank
from portal.roles import Role, ensure_roles

DEMO_FILE_PREFIX = "demo-"
REJECTED_IN_DEMO = 2
# Share of a bank's live cards used in a month, per county tier, so the figures differ by union.
USE_SHARES = (0.7, 0.5, 0.3, 0.15)
BANK_SERIAL_BASE = 700_000_000  # the numbers the demo bank "assigns", far from the portal's serials


def seed_bank_staff(*, seed: int = 1) -> list[dict]:
    ensure_roles()
    user_model = get_user_model()
    sign_ins = []
    for code, name, _bin, _length, _share in DEMO_BANKS:
        bank = PartnerBank.objects.filter(code=code).first()
        if bank is None:
            continue
        username = f"bank_{code.lower()}"
        password = f"Demo-{demo_secret(seed, 'bank:' + username)}"
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": False, "first_name": name}
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
            user.groups.add(Role.BANK_STAFF.group())
            BankStaff.objects.create(user=user, bank=bank)
        sign_ins.append({"username": username, "password": password, "bank_code": code, "bank_name": name})
    return sign_ins


def _csv(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def receive_file(bank: PartnerBank, kind: str, name: str, content: bytes, actor) -> BankFile:
    """Receive a demo file as a bank would upload it, and process it at once."""
    bank_file, created = files.bank_file_receive(
        bank=bank, kind=kind, uploaded_file=SimpleUploadedFile(name, content), actor=actor
    )
    if created:
        # Processed here rather than by the worker: the worker, queued too, then finds it done.
        tasks.bank_file_process(bank_file.pk)
    return bank_file


def _issuance_result(bank: PartnerBank, actor) -> int:
    batch = (
        IssuanceBatch.objects.filter(
            bank=bank, original_filename__startswith=DEMO_BATCH_PREFIX, status=IssuanceBatch.Status.COMPLETED
        )
        .order_by("pk")
        .first()
    )
    if batch is None:
        return 0
    cards = list(Card.objects.filter(batch=batch, status=Card.Status.ISSUED).order_by("serial"))
    rows = []
    for index, card in enumerate(cards):
        if index < REJECTED_IN_DEMO:
            reason = ("身份证件已过有效期", "预留手机号与身份证登记信息不一致")[index]
            rows.append([card.number, "拒绝", "", reason])
        else:
            partial = f"{bank.bin}{BANK_SERIAL_BASE + card.serial:0{bank.serial_length}d}"
            rows.append([card.number, "开户", partial + luhn.calc_check_digit(partial), ""])
    receive_file(
        bank,
        BankFile.Kind.ISSUANCE_RESULT,
        f"{DEMO_FILE_PREFIX}issuance-result-{batch.pk}.csv",
        _csv(["申请编号", "结果", "银行卡号", "拒绝原因"], rows),
        actor,
    )
    # Card changes of the opened cards: one reported lost, one replaced after activation.
    opened = list(Card.objects.filter(batch=batch, status=Card.Status.ISSUED).order_by("pk")[:2])
    if len(opened) == 2:
        card_freeze(card=opened[0], actor=actor)
        card_replace(card=card_activate(card=opened[1], actor=actor), actor=actor)
    return len(rows)


def _month_lines(rng: random.Random, cards, first: datetime.date, last: datetime.date, tag: str) -> list:
    lines = []
    days = (last - first).days + 1
    for number, county_code in cards:
        share = (
            USE_SHARES[int(county_code[-2:] or 0) % len(USE_SHARES)] if county_code[-2:].isdigit() else 0.4
        )
        if rng.random() >= share:
            continue
        for _ in range(rng.randint(1, 3)):
            day = first + datetime.timedelta(days=rng.randrange(days))
            at = datetime.datetime.combine(day, datetime.time(rng.randint(8, 20), rng.randint(0, 59)))
            amount = f"{rng.randint(500, 60000) / 100:.2f}"
            lines.append([number, f"10513{rng.randint(1000, 9999)}", amount, f"{at:%Y-%m-%d %H:%M:%S}", ""])
    for index, line in enumerate(lines):
        line[4] = f"{tag}{index:07d}"
    return lines


def _transactions(bank: PartnerBank, actor, rng: random.Random) -> int:
    cards = list(
        Card.objects.filter(bank=bank, status__in=Card.LIVE_STATUSES)
        .order_by("pk")
        .values_list("number", "member__union__parent__code")
    )
    if not cards:
        return 0
    today = timezone.localdate()
    this_month = today.replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    made = 0
    for first, last in ((last_month, this_month - datetime.timedelta(days=1)), (this_month, today)):
        lines = _month_lines(rng, cards, first, last, f"{bank.code}{first:%Y%m}")
        if first == this_month and lines:
            # What a real file brings now and then: a card of another bank, a bad amount, a line
            # repeated from earlier in the file.
            lines.append(
                ["6200000000000000003", "105130001", "12.00", f"{today:%Y-%m-%d} 09:00:00", "X-UNKNOWN"]
            )
            lines.append([cards[0][0], "105130001", "-3", f"{today:%Y-%m-%d} 09:05:00", "X-NEGATIVE"])
            lines.append(list(lines[0]))
        receive_file(
            bank,
            BankFile.Kind.TRANSACTIONS,
            f"{DEMO_FILE_PREFIX}transactions-{bank.code}-{first:%Y%m}.csv",
            _csv(TRANSACTION_HEADERS[0], lines),
            actor,
        )
        made += len(lines)
    return made


@transaction.atomic
def seed_banking(*, seed: int = 1, log=print) -> list[dict]:
    sign_ins = seed_bank_staff(seed=seed)
    if BankFile.objects.filter(original_filename__startswith=DEMO_FILE_PREFIX).exists():
        return sign_ins
    actor = get_user_model().objects.filter(username="province_admin").first()
    if actor is None:
        return sign_ins
    rng = random.Random(f"banking:{seed}")
    for bank in PartnerBank.objects.filter(code__in=[code for code, *_rest in DEMO_BANKS]).order_by("pk"):
        answered = _issuance_result(bank, actor)
        exported = card_changes.card_changes_export(bank=bank, actor=actor)
        lines = _transactions(bank, actor, rng)
        log(
            f"bank {bank.code}: {answered} issuance answers, "
            f"{exported.total_lines if exported else 0} card changes, {lines} transaction lines"
        )
    return sign_ins
