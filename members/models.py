"""The members app's tables: the union tree, members, banks and cards (with the card codes), issuance
batches and their rows, members' own requests (card applications, transfers), the roster with its
dated history and reported counts, and the member's sign-in tokens.

Longer than most modules because it is one app's whole schema, as Django lays an app out: the tables
refer to each other (cards to members and banks, rows to batches, history to members and cards) and
the history triggers and bulk statements of members.batch_processing and members.roster are written
against them together; each family is marked by a ``# ---`` heading."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# The integrators' sandbox (discounts.sandbox) keeps its test members in a tree of their own, this one
# workplace union: their cards work only at the sandbox merchant, and no real till knows them.
SANDBOX_UNION_CODE = "sandbox"
SANDBOX_UNION_PATH = f"{SANDBOX_UNION_CODE}/"


class UnionQuerySet(models.QuerySet):
    def subtree(self, node: Union) -> UnionQuerySet:
        """The node and every union below it: one indexed prefix match on the materialized path."""
        return self.filter(path__startswith=node.path)

    def real(self) -> UnionQuerySet:
        """Every union but the integrators' sandbox (a member can never join it, a list never shows it)."""
        return self.exclude(path__startswith=SANDBOX_UNION_PATH)

    def province(self) -> Union | None:
        """The province: the root of the union tree. (The integrators' sandbox keeps its test
        members in a tree of its own, a single workplace union, which is never the province.)"""
        return self.filter(level=Union.Level.PROVINCE, parent__isnull=True).order_by("path").first()


class Union(models.Model):
    """A node of the union tree: province → city → county → workplace.

    ``path`` is the materialized path of codes, ``"130000/130100/130102/"``: a subtree is
    ``path LIKE '<node path>%'``, served by the ``text_pattern_ops`` index, never a recursive walk."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("省级")
        CITY = "city", _("市级")
        COUNTY = "county", _("县级")
        WORKPLACE = "workplace", _("基层")

    LEVEL_DEPTH = {Level.PROVINCE: 0, Level.CITY: 1, Level.COUNTY: 2, Level.WORKPLACE: 3}

    code = models.CharField(_("工会代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=120)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    level = models.CharField(_("层级"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级工会"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("路径"), max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("层级深度"), editable=False)
    single_person_approval = models.BooleanField(
        _("允许创建人自行审批"),
        default=False,
        help_text=_(
            "仅适用于只有一名工作人员的工会：本工会的工作人员可以批准自己创建的事项，每次都记入审计日志。"
        ),
    )
    # Shown to a member whose card is frozen: where to go for a new one (the nearest union up the tree
    # that has either, see members.selectors.union_contact).
    contact_phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    contact_address = models.CharField(_("办公地址"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = UnionQuerySet.as_manager()

    class Meta:
        verbose_name = _("工会组织")
        verbose_name_plural = _("工会组织")
        ordering = ["path"]
        indexes = [
            models.Index(fields=["path"], opclasses=["text_pattern_ops"], name="union_path_prefix_idx"),
            models.Index(fields=["level", "parent"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(code__contains="/"), name="union_code_has_no_slash"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def place_name(self) -> str:
        """The place a city or county union stands for, as people name it in pickers and badges:
        石家庄市总工会 → 石家庄市, 长安区总工会 → 长安区; in English, from the English name."""
        if get_language() == "en" and self.name_en:
            name = self.name_en
            for suffix in (" Provincial Federation of Trade Unions", " Federation of Trade Unions"):
                name = name.removesuffix(suffix)
            return name
        for suffix in ("总工会", "工会"):
            if self.name.endswith(suffix) and len(self.name) > len(suffix):
                return self.name.removesuffix(suffix)
        return self.name

    @staticmethod
    def path_for(code: str, parent: Union | None) -> str:
        return f"{parent.path if parent else ''}{code}/"

    def contains(self, other: Union) -> bool:
        """``other`` is this union or lies below it."""
        return other.path.startswith(self.path)

    def subtree_q(self, union_field: str = "") -> Q:
        """Rows whose union (reached by ``union_field``, e.g. ``"merchant__region"``; "" for rows
        that carry a union path themselves) lies in this subtree: one indexed prefix match."""
        return Q(**{f"{union_field}__path__startswith" if union_field else "path__startswith": self.path})


class MemberGroup(models.TextChoices):
    """Groups that offers can target (e.g. a hardship allowance only for 困难职工)."""

    HARDSHIP = "hardship", _("困难职工")
    MODEL_WORKER = "model_worker", _("劳动模范")
    MIGRANT_WORKER = "migrant_worker", _("农民工")
    FRONTLINE = "frontline", _("一线职工")
    VETERAN = "veteran", _("退役军人")


class Member(models.Model):
    """A union member. The resident ID number is personal information: it is stored encrypted
    (``id_number_encrypted``), found by a keyed hash (``id_number_hash``) and shown masked."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("在会")
        TRANSFERRED = "transferred", _("已转出")
        RETIRED = "retired", _("退休")
        LEFT = "left", _("已退会")

    name = models.CharField(_("姓名"), max_length=60)
    id_number_encrypted = models.TextField(_("身份证号（加密）"), editable=False)
    id_number_hash = models.CharField(_("身份证号摘要"), max_length=64, unique=True, editable=False)
    id_number_masked = models.CharField(_("身份证号"), max_length=18, editable=False)
    phone = models.CharField(_("手机号"), max_length=11, db_index=True)
    union = models.ForeignKey(
        Union, verbose_name=_("基层工会"), on_delete=models.PROTECT, related_name="members"
    )
    status = models.CharField(_("会籍状态"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    groups = ArrayField(
        models.CharField(max_length=32, choices=MemberGroup.choices),
        verbose_name=_("群体"),
        default=list,
        blank=True,
    )
    consent_at = models.DateTimeField(_("同意个人信息处理规则时间"), null=True, blank=True)
    last_sign_in_at = models.DateTimeField(_("最近登录时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("会员")
        verbose_name_plural = _("会员")
        indexes = [models.Index(fields=["union", "status"])]
        permissions = [("reveal_id_number", _("可以查看完整身份证号"))]

    def __str__(self) -> str:
        return f"{self.name_masked} ({self.id_number_masked})"

    # A signed-in member is the principal of the member API (see members.auth).
    is_authenticated = True
    is_anonymous = False

    @property
    def name_masked(self) -> str:
        return mask_name(self.name)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the family name stays, the rest is hidden."""
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str) -> str:
    """13912345678 → 139****5678."""
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


class MemberTransfer(models.Model):
    member = models.ForeignKey(
        Member, verbose_name=_("会员"), on_delete=models.CASCADE, related_name="transfers"
    )
    from_union = models.ForeignKey(
        Union, verbose_name=_("原工会"), on_delete=models.PROTECT, related_name="+"
    )
    to_union = models.ForeignKey(Union, verbose_name=_("新工会"), on_delete=models.PROTECT, related_name="+")
    transferred_at = models.DateTimeField(_("转会时间"), auto_now_add=True)
    transferred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("转会记录")
        verbose_name_plural = _("转会记录")
        ordering = ["-transferred_at"]

    def __str__(self) -> str:
        return _("%(from)s → %(to)s") % {"from": self.from_union, "to": self.to_union}


class PartnerBank(models.Model):
    """A bank that produces the co-branded debit card. ``next_serial`` is the allocation counter:
    serials are taken with one ``UPDATE … RETURNING`` so concurrent batches never share or skip one."""

    code = models.CharField(_("银行代码"), max_length=16, unique=True)
    name = models.CharField(_("银行名称"), max_length=100)
    bin = models.CharField(_("卡 BIN"), max_length=8, unique=True)
    serial_length = models.PositiveSmallIntegerField(_("序号位数"), default=9)
    next_serial = models.BigIntegerField(_("下一个卡序号"), default=1, editable=False)
    is_active = models.BooleanField(_("合作中"), default=True)

    class Meta:
        verbose_name = _("合作银行")
        verbose_name_plural = _("合作银行")

    def __str__(self) -> str:
        return self.name


class Card(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", _("已制卡")
        ACTIVE = "active", _("已激活")
        FROZEN = "frozen", _("已挂失")
        REPLACED = "replaced", _("已换卡")
        CANCELLED = "cancelled", _("已注销")

    LIVE_STATUSES = (Status.ISSUED, Status.ACTIVE, Status.FROZEN)  # at most one per member
    HOLDING_STATUSES = (Status.ISSUED, Status.ACTIVE)  # counts as a cardholder for coverage

    number = models.CharField(_("卡号"), max_length=19, unique=True)
    bank = models.ForeignKey(
        PartnerBank, verbose_name=_("银行"), on_delete=models.PROTECT, related_name="cards"
    )
    serial = models.BigIntegerField(_("卡序号"), editable=False)
    member = models.ForeignKey(Member, verbose_name=_("会员"), on_delete=models.PROTECT, related_name="cards")
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.ISSUED)
    batch = models.ForeignKey(
        "IssuanceBatch",
        verbose_name=_("发卡批次"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cards",
    )
    replaces = models.OneToOneField(
        "self",
        verbose_name=_("替换的卡"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )
    issued_at = models.DateTimeField(_("制卡时间"), auto_now_add=True)
    activated_at = models.DateTimeField(_("激活时间"), null=True, blank=True)
    frozen_at = models.DateTimeField(_("挂失时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("会员卡")
        verbose_name_plural = _("会员卡")
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status__in=["issued", "active", "frozen"]),
                name="one_live_card_per_member",
            ),
            models.UniqueConstraint(fields=["bank", "serial"], name="card_serial_unique_per_bank"),
        ]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["batch"])]

    def __str__(self) -> str:
        return self.number_masked

    @property
    def number_masked(self) -> str:
        return mask_card_number(self.number)

    @property
    def number_grouped(self) -> str:
        """6228 4800 1234 5678: read from the screen in groups of four."""
        return " ".join(self.number[i : i + 4] for i in range(0, len(self.number), 4))

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    @property
    def is_test(self) -> bool:
        """A test card of the integrators' sandbox (reads the member's union: load it with the card)."""
        return self.member.union.path.startswith(SANDBOX_UNION_PATH)


class CardCode(models.Model):
    """The short numeric code shown beside the QR code on the card page (12 digits, also drawn as a
    Code 128 barcode): a cashier types or scans it where the QR cannot be read. It names the card for
    as long as the QR token does (``CARD_TOKEN_TTL_SECONDS``); see members.tokens."""

    code = models.CharField(max_length=12, primary_key=True, verbose_name=_("数字码"))
    card = models.ForeignKey(
        Card, on_delete=models.CASCADE, related_name="short_codes", verbose_name=_("会员卡")
    )
    expires_at = models.DateTimeField(verbose_name=_("有效期至"))

    class Meta:
        verbose_name = _("卡片数字码")
        verbose_name_plural = _("卡片数字码")
        indexes = [models.Index(fields=["card", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.card_id} · {self.expires_at:%H:%M:%S}"


def mask_card_number(number: str) -> str:
    """6228 4800 1234 5678 → 6228********5678."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def batch_upload_path(batch: IssuanceBatch, filename: str) -> str:
    return f"issuance/{batch.union.code}/{filename}"


class IssuanceBatch(models.Model):
    """A card-application file from a workplace or county union, validated and processed by workers."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("已上传")
        VALIDATING = "validating", _("校验中")
        VALIDATED = "validated", _("待审核")
        APPROVED = "approved", _("已批准")
        PROCESSING = "processing", _("制卡中")
        COMPLETED = "completed", _("已完成")
        FAILED = "failed", _("失败")
        REJECTED = "rejected", _("已驳回")

    union = models.ForeignKey(
        Union, verbose_name=_("上报工会"), on_delete=models.PROTECT, related_name="batches"
    )
    bank = models.ForeignKey(PartnerBank, verbose_name=_("制卡银行"), on_delete=models.PROTECT)
    file = models.FileField(_("申请文件"), upload_to=batch_upload_path, max_length=255)
    file_purged_at = models.DateTimeField(_("申请文件删除时间"), null=True, blank=True)
    original_filename = models.CharField(_("文件名"), max_length=255)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.UPLOADED)
    status_message = models.CharField(_("说明"), max_length=500, blank=True)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    valid_rows = models.PositiveIntegerField(_("有效行数"), default=0)
    error_rows = models.PositiveIntegerField(_("错误行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已制卡行数"), default=0)
    # The progress of processing: every valid row up to this row number is done (members upserted,
    # cards issued), each chunk's transaction moving it on with its cards.
    processed_through = models.PositiveIntegerField(_("已处理至行号"), default=0)
    # Valid rows that change the name or phone of a member who already exists: shown to the approver.
    changed_members = models.PositiveIntegerField(_("修改已有会员"), default=0)
    cards_created = models.PositiveIntegerField(_("新制卡数"), default=0)
    production_file = models.FileField(_("制卡文件"), upload_to="bank-files/", blank=True, max_length=255)
    production_file_purged_at = models.DateTimeField(_("制卡文件删除时间"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    validated_at = models.DateTimeField(_("校验完成时间"), null=True, blank=True)
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("发卡批次")
        verbose_name_plural = _("发卡批次")
        ordering = ["-created_at"]
        permissions = [
            ("approve_issuancebatch", _("可以批准发卡批次")),
            ("download_bank_file", _("可以下载含完整身份证号的文件（申请原文件、制卡文件）")),
        ]

    def __str__(self) -> str:
        return f"{self.union.name} · {self.original_filename}"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        if self.status in (self.Status.APPROVED, self.Status.PROCESSING) and self.valid_rows:
            return int(self.processed_rows * 100 / self.valid_rows)
        if self.status == self.Status.VALIDATING and self.total_rows:
            done = self.valid_rows + self.error_rows
            return int(done * 100 / self.total_rows)
        return 0


class IssuanceRow(models.Model):
    """One applicant of a batch, with the errors found when validating it. A valid row is done once
    its batch's ``processed_through`` has passed it: its member is the one holding its ID number,
    its card the one of the batch issued to that member."""

    class Status(models.TextChoices):
        VALID = "valid", _("有效")
        INVALID = "invalid", _("有误")

    # Staging rows with foreign keys kept by Django, not by database constraints, as roster rows
    # (see there); the batch is indexed by the unique (batch, row number) below.
    batch = models.ForeignKey(
        IssuanceBatch,
        verbose_name=_("批次"),
        on_delete=models.CASCADE,
        related_name="rows",
        db_index=False,
        db_constraint=False,
    )
    row_number = models.PositiveIntegerField(_("行号"))
    name = models.CharField(_("姓名"), max_length=60, blank=True)
    id_number_encrypted = models.TextField(_("身份证号（加密）"), blank=True)
    # Not indexed: rows are read by batch and number, their members found through the members' own
    # unique index on the hash.
    id_number_hash = models.CharField(_("身份证号摘要"), max_length=64, blank=True)
    id_number_masked = models.CharField(_("身份证号"), max_length=32, blank=True)
    phone = models.CharField(_("手机号"), max_length=32, blank=True)
    union_code = models.CharField(_("基层工会代码"), max_length=64, blank=True)
    union = models.ForeignKey(
        Union,
        verbose_name=_("工会"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    groups = ArrayField(models.CharField(max_length=32), verbose_name=_("群体"), default=list, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    # For a row naming a member who already exists: what it would change, old values masked
    # ({"name": "李**", "phone": "139****0088"}); the new values are the row's own.
    member_changes = models.JSONField(_("对已有会员的修改"), default=dict, blank=True)

    class Meta:
        verbose_name = _("申请行")
        verbose_name_plural = _("申请行")
        ordering = ["batch", "row_number"]
        constraints = [models.UniqueConstraint(fields=["batch", "row_number"], name="issuance_row_unique")]
        # As for roster rows: the rows to process by the unique index, the few with errors by this.
        indexes = [
            models.Index(
                fields=["batch", "row_number"], condition=Q(status="invalid"), name="issuance_row_invalid_idx"
            )
        ]

    def __str__(self) -> str:
        return _("批次%(batch)s第%(row)s行") % {"batch": self.batch_id, "row": self.row_number}


class OneTimeCode(models.Model):
    """A sign-in code sent by SMS. Only its hash is stored; it expires and allows few attempts."""

    phone = models.CharField(_("手机号"), max_length=11, db_index=True)
    code_hash = models.CharField(_("验证码摘要"), max_length=64)
    ip_address = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField(_("过期时间"))
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("验证码")
        verbose_name_plural = _("验证码")
        indexes = [models.Index(fields=["ip_address", "created_at"])]

    def __str__(self) -> str:
        return _("验证码 · %(phone)s") % {"phone": mask_phone(self.phone)}


class WrongCodeGuess(models.Model):
    """A wrong one-time code, kept so that guesses are counted per requester (address): a guesser is
    stopped without the member of the phone being locked out. Deleted with the codes (one day)."""

    phone = models.CharField(_("手机号"), max_length=11)
    ip_address = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("错误验证码记录")
        verbose_name_plural = _("错误验证码记录")
        indexes = [models.Index(fields=["ip_address", "created_at"])]

    def __str__(self) -> str:
        return _("错误验证码 · %(phone)s") % {"phone": mask_phone(self.phone)}


class MemberApiToken(models.Model):
    """A bearer token of the member app, issued at sign-in. Only its hash is stored."""

    member = models.ForeignKey(
        Member, verbose_name=_("会员"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    token_hash = models.CharField(_("令牌摘要"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"))
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("会员令牌")
        verbose_name_plural = _("会员令牌")

    def __str__(self) -> str:
        return _("会员令牌 #%(id)s") % {"id": self.pk}


class CardApplication(models.Model):
    """A member's own application for a card (办卡申请): the member chooses the bank, their workplace
    union approves or refuses it, and approved applications join the next issuance batch, which
    creates the card through the batch pipeline like any uploaded applicant."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待工会审核")
        APPROVED = "approved", _("已通过，待制卡")
        BATCHED = "batched", _("已加入发卡批次")
        REFUSED = "refused", _("未通过")
        WITHDRAWN = "withdrawn", _("已撤回")

    OPEN_STATUSES = (Status.PENDING, Status.APPROVED)  # at most one per member

    member = models.ForeignKey(
        Member, verbose_name=_("会员"), on_delete=models.CASCADE, related_name="card_applications"
    )
    union = models.ForeignKey(
        Union, verbose_name=_("审核工会"), on_delete=models.PROTECT, related_name="card_applications"
    )
    bank = models.ForeignKey(PartnerBank, verbose_name=_("制卡银行"), on_delete=models.PROTECT)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("未通过原因"), max_length=300, blank=True)
    batch = models.ForeignKey(
        IssuanceBatch,
        verbose_name=_("发卡批次"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("办卡申请")
        verbose_name_plural = _("办卡申请")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status__in=["pending", "approved"]),
                name="one_open_card_application_per_member",
            ),
        ]
        indexes = [models.Index(fields=["status", "union"])]

    def __str__(self) -> str:
        return f"{self.member} · {self.get_status_display()}"


class TransferRequest(models.Model):
    """A member's request to move to another workplace union: the receiving union accepts or refuses."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待接收")
        ACCEPTED = "accepted", _("已接收")
        REFUSED = "refused", _("未接收")
        WITHDRAWN = "withdrawn", _("已撤回")

    member = models.ForeignKey(
        Member, verbose_name=_("会员"), on_delete=models.CASCADE, related_name="transfer_requests"
    )
    from_union = models.ForeignKey(
        Union, verbose_name=_("原工会"), on_delete=models.PROTECT, related_name="+"
    )
    to_union = models.ForeignKey(
        Union, verbose_name=_("申请转入工会"), on_delete=models.PROTECT, related_name="transfer_requests_in"
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("未接收原因"), max_length=300, blank=True)
    transfer = models.OneToOneField(
        MemberTransfer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="request",
        verbose_name=_("转会记录"),
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("转会申请")
        verbose_name_plural = _("转会申请")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(status="pending"), name="one_pending_transfer_per_member"
            ),
        ]
        indexes = [models.Index(fields=["status", "to_union"])]

    def __str__(self) -> str:
        return f"{self.member} → {self.to_union} · {self.get_status_display()}"


# --- The roster (会员名册), reported member counts and dated history ------------------------------------


class MemberHistory(models.Model):
    """A member's workplace union and membership status over a period ``[valid_from, valid_to)``.

    Written only by database triggers on ``members_member`` (migrations ``members.0013``, ``0014``), so
    every writer — services, bulk SQL of batches and rosters, admin, raw SQL — is recorded. A change is
    dated when its statement runs (``clock_timestamp()``, after the row lock: never before the last
    recorded change) unless the transaction set ``members.history_effective_at`` (see
    :func:`members.history.history_effective_at`), which is how a correction is back-dated."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="history", db_index=False, verbose_name=_("会员")
    )
    union = models.ForeignKey(
        Union, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("基层工会")
    )
    status = models.CharField(max_length=16, choices=Member.Status.choices, verbose_name=_("会籍状态"))
    valid_from = models.DateTimeField(verbose_name=_("起始时间"))
    valid_to = models.DateTimeField(null=True, blank=True, verbose_name=_("截止时间"))

    class Meta:
        verbose_name = _("会籍历史")
        verbose_name_plural = _("会籍历史")
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(valid_to__isnull=True), name="member_history_one_open"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="member_history_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} · {self.get_status_display()} · {self.valid_from:%Y-%m-%d}"


class CardHistory(models.Model):
    """A card's status over a period ``[valid_from, valid_to)``, written by triggers on ``members_card``
    like :class:`MemberHistory`."""

    card = models.ForeignKey(
        Card, on_delete=models.CASCADE, related_name="history", db_index=False, verbose_name=_("会员卡")
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("会员")
    )
    status = models.CharField(max_length=16, choices=Card.Status.choices, verbose_name=_("卡片状态"))
    valid_from = models.DateTimeField(verbose_name=_("起始时间"))
    valid_to = models.DateTimeField(null=True, blank=True, verbose_name=_("截止时间"))

    class Meta:
        verbose_name = _("会员卡状态历史")
        verbose_name_plural = _("会员卡状态历史")
        constraints = [
            models.UniqueConstraint(
                fields=["card"], condition=Q(valid_to__isnull=True), name="card_history_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card_id} · {self.get_status_display()} · {self.valid_from:%Y-%m-%d}"


class UnionSubmission(models.Model):
    """That a workplace union has submitted a roster, or card-application data, and since when: the
    reporting rate (上报率) counts these rows. Written when a roster is applied and when a batch's
    rows are validated; never deleted."""

    class Kind(models.TextChoices):
        ROSTER = "roster", _("会员名册")
        CARDS = "cards", _("办卡资料")

    union = models.ForeignKey(
        Union, on_delete=models.CASCADE, related_name="submissions", verbose_name=_("基层工会")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("上报内容"))
    first_at = models.DateTimeField(verbose_name=_("首次上报时间"))
    last_at = models.DateTimeField(verbose_name=_("最近上报时间"))

    class Meta:
        verbose_name = _("上报记录")
        verbose_name_plural = _("上报记录")
        constraints = [models.UniqueConstraint(fields=["union", "kind"], name="union_submission_unique")]

    def __str__(self) -> str:
        return f"{self.union} · {self.get_kind_display()}"


class ReportedMemberCount(models.Model):
    """A member count a workplace union reports while it has no roster: the coverage denominator
    until a roster is applied. Kept as entered; the latest ``as_of`` on or before a day counts."""

    union = models.ForeignKey(
        Union, verbose_name=_("基层工会"), on_delete=models.PROTECT, related_name="reported_counts"
    )
    count = models.PositiveIntegerField(_("会员人数"))
    as_of = models.DateField(_("统计日期"))
    source = models.CharField(
        _("数据来源"), max_length=200, help_text=_("例如：2026年工会年报、会员登记台账")
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("填报人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("填报时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("上报会员人数")
        verbose_name_plural = _("上报会员人数")
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["union", "as_of"], name="reported_count_union_idx")]

    def __str__(self) -> str:
        return f"{self.union} · {self.count} ({self.as_of})"


def roster_upload_path(roster: RosterImport, filename: str) -> str:
    return f"rosters/{roster.union.code}/{filename}"


class RosterImport(models.Model):
    """A roster file (会员名册) of a union: validated by a worker, confirmed by staff, then applied in
    chunks — members added, updated, moved between its workplace unions or marked as left — without
    issuing cards. Members of its unions missing from it are listed for staff (:class:`RosterMissing`)."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("已上传")
        VALIDATING = "validating", _("校验中")
        VALIDATED = "validated", _("待确认")
        APPLYING = "applying", _("导入中")
        COMPLETED = "completed", _("已完成")
        FAILED = "failed", _("失败")
        CANCELLED = "cancelled", _("已放弃")

    union = models.ForeignKey(
        Union, verbose_name=_("名册工会"), on_delete=models.PROTECT, related_name="roster_imports"
    )
    file = models.FileField(_("名册文件"), upload_to=roster_upload_path, max_length=255)
    original_filename = models.CharField(_("文件名"), max_length=255)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.UPLOADED)
    status_message = models.CharField(_("说明"), max_length=500, blank=True)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    valid_rows = models.PositiveIntegerField(_("有效行数"), default=0)
    error_rows = models.PositiveIntegerField(_("错误行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已导入行数"), default=0)
    # The last row number applied: the next chunk starts after it (rows are not rewritten as done).
    applied_through = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("已导入至行"))
    members_added = models.PositiveIntegerField(_("新增会员"), default=0)
    members_updated = models.PositiveIntegerField(_("更新会员"), default=0)
    status_changes = models.PositiveIntegerField(_("会籍或工会变更"), default=0)
    missing_members = models.PositiveIntegerField(_("不在最新名册"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    validated_at = models.DateTimeField(_("校验完成时间"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("会员名册导入")
        verbose_name_plural = _("会员名册导入")
        ordering = ["-created_at"]
        permissions = [("confirm_rosterimport", _("可以确认导入会员名册"))]

    def __str__(self) -> str:
        return f"{self.union.name} · {self.original_filename}"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        if self.status == self.Status.APPLYING and self.valid_rows:
            return int(self.processed_rows * 100 / self.valid_rows)
        if self.status == self.Status.VALIDATING and self.total_rows:
            return int((self.valid_rows + self.error_rows) * 100 / self.total_rows)
        return 0


class RosterRow(models.Model):
    """One member of a roster file, with the errors found when validating it. A valid row is applied
    once its roster's ``applied_through`` has passed its number; its member is found by ID hash."""

    class Status(models.TextChoices):
        VALID = "valid", _("有效")
        INVALID = "invalid", _("有误")

    # The rows are staging, written by COPY a million at a time: their two foreign keys are kept by
    # Django (a roster deleted takes its rows, a union named by rows cannot be deleted) and not by
    # database constraints, whose check of every row at commit cost two thirds of storing it. The
    # members applied from them are checked by the members table's own constraints. The roster is
    # indexed by the unique (roster, row number) below, which every query of the rows starts with.
    roster = models.ForeignKey(
        RosterImport,
        on_delete=models.CASCADE,
        related_name="rows",
        db_index=False,
        db_constraint=False,
        verbose_name=_("名册"),
    )
    row_number = models.PositiveIntegerField(_("行号"))
    name = models.CharField(_("姓名"), max_length=60, blank=True)
    id_number_encrypted = models.TextField(blank=True, verbose_name=_("身份证号（加密）"))
    # Not indexed: rows are read by roster and number, their members found through the members'
    # own unique index on the hash.
    id_number_hash = models.CharField(max_length=64, blank=True, verbose_name=_("身份证号摘要"))
    id_number_masked = models.CharField(_("身份证号"), max_length=32, blank=True)
    phone = models.CharField(_("手机号"), max_length=32, blank=True)
    union_code = models.CharField(_("基层工会代码"), max_length=64, blank=True)
    union = models.ForeignKey(
        Union,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        verbose_name=_("基层工会"),
    )
    groups = ArrayField(models.CharField(max_length=32), default=list, blank=True, verbose_name=_("会员群体"))
    member_status = models.CharField(
        _("会籍状态"), max_length=16, choices=Member.Status.choices, default=Member.Status.ACTIVE
    )
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    member_changes = models.JSONField(_("对已有会员的修改"), default=dict, blank=True)

    class Meta:
        verbose_name = _("名册行")
        verbose_name_plural = _("名册行")
        ordering = ["roster", "row_number"]
        constraints = [models.UniqueConstraint(fields=["roster", "row_number"], name="roster_row_unique")]
        # The rows still to apply are found by the unique index (nearly every row is valid); the
        # few with errors, listed to staff, by this one, which holds only them.
        indexes = [
            models.Index(
                fields=["roster", "row_number"], condition=Q(status="invalid"), name="roster_row_invalid_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.roster_id} · {self.row_number}"


class RosterMissing(models.Model):
    """An active member of a roster's unions whom the applied roster does not list ("不在最新名册"):
    nothing changes until staff confirm them as left or transferred, or keep them."""

    class Resolution(models.TextChoices):
        PENDING = "pending", _("待确认")
        LEFT = "left", _("已确认退会")
        TRANSFERRED = "transferred", _("已确认转出")
        KEPT = "kept", _("仍在会")

    roster = models.ForeignKey(
        RosterImport, on_delete=models.CASCADE, related_name="missing", verbose_name=_("名册")
    )
    member = models.ForeignKey(Member, verbose_name=_("会员"), on_delete=models.CASCADE, related_name="+")
    union = models.ForeignKey(Union, verbose_name=_("基层工会"), on_delete=models.PROTECT, related_name="+")
    resolution = models.CharField(
        _("处理结果"), max_length=16, choices=Resolution.choices, default=Resolution.PENDING
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("处理人"),
    )
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("不在最新名册的会员")
        verbose_name_plural = _("不在最新名册的会员")
        constraints = [models.UniqueConstraint(fields=["roster", "member"], name="roster_missing_unique")]
        indexes = [models.Index(fields=["union", "resolution"], name="roster_missing_union_idx")]

    def __str__(self) -> str:
        return f"{self.member} · {self.get_resolution_display()}"
