"""City sites: each city union's own face on the one portal — name, logo, colours, banners, news,
its WeChat account and service contacts (docs/cities.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cities import theme

# A slug names the site in its address: /c/<slug>/ and <slug>.<CITY_SITES_DOMAIN>. Lowercase ASCII
# letters, digits and inner hyphens, so it is a valid DNS label too.
SLUG_PATTERN = r"[a-z][a-z0-9-]{0,28}[a-z0-9]"
RESERVED_SLUGS = frozenset({"www", "admin", "api", "static", "media", "mail", "c"})


def validate_slug(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(_("“%(slug)s”是保留名称，请换一个。") % {"slug": value}, code="reserved")


def validate_local_link(value: str) -> None:
    """Banners link within the portal only: a path on this site, never another host."""
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(c.isspace() for c in value)
    ):
        raise ValidationError(
            _("链接须是本站内的地址，以 / 开头，例如 /offers/12/ 或 /c/tangshan/news/。"), code="not_local"
        )


def _site_upload_path(site: CitySite, filename: str) -> str:
    return f"cities/{site.slug}/{filename}"


def site_image_path(instance: CitySite, filename: str) -> str:
    return _site_upload_path(instance, filename)


def banner_image_path(instance: Banner, filename: str) -> str:
    return _site_upload_path(instance.site, filename)


class CitySite(models.Model):
    """One city union's site. Rows belong to the city union: its staff and the province's edit it
    (``portal.scoping`` on ``union__path``), nobody else."""

    union = models.OneToOneField(
        "members.Union",
        verbose_name=_("市总工会"),
        on_delete=models.PROTECT,
        related_name="city_site",
        limit_choices_to={"level": "city"},
    )
    slug = models.CharField(
        _("站点标识"),
        max_length=30,
        unique=True,
        validators=[
            RegexValidator(
                rf"^{SLUG_PATTERN}$",
                _("只能用小写字母、数字和中间的连字符，以字母开头，2 到 30 个字符，例如 tangshan。"),
            ),
            validate_slug,
        ],
        help_text=_("用于网址：/c/标识/ 或 标识.域名，例如 tangshan。创建后不能修改。"),
    )
    name = models.CharField(_("平台名称"), max_length=30, help_text=_("例如 唐工惠。"))
    short_name = models.CharField(
        _("简称"), max_length=12, help_text=_("手机桌面图标下显示的名称，最多 12 个字。")
    )
    logo = models.ImageField(_("标志"), upload_to=site_image_path, blank=True)
    primary_color = models.CharField(
        _("主色"),
        max_length=7,
        default=theme.PROVINCE_PRIMARY,
        validators=[theme.validate_primary_colour],
        help_text=_("页头和按钮的颜色，例如 #0b5cab。"),
    )
    accent_color = models.CharField(
        _("强调色"),
        max_length=7,
        default=theme.PROVINCE_ACCENT,
        validators=[theme.validate_accent_colour],
        help_text=_("链接和优惠标题的颜色，例如 #08427a。"),
    )
    wechat_account = models.CharField(_("微信公众号名称"), max_length=60, blank=True)
    wechat_qr = models.ImageField(_("公众号二维码"), upload_to=site_image_path, blank=True)
    service_phone = models.CharField(_("服务电话"), max_length=40, blank=True)
    service_hours = models.CharField(_("服务时间"), max_length=80, blank=True)
    service_address = models.CharField(_("服务地址"), max_length=200, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("城市站点")
        verbose_name_plural = _("城市站点")
        ordering = ["union__code"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        self.primary_color = (self.primary_color or "").lower()
        self.accent_color = (self.accent_color or "").lower()
        if self.union_id and self.union.level != "city":
            raise ValidationError({"union": _("城市站点只能属于市总工会。")})


class Banner(models.Model):
    """A picture on the site's home page, shown in ``order`` between its dates."""

    site = models.ForeignKey(
        CitySite, verbose_name=_("城市站点"), on_delete=models.CASCADE, related_name="banners"
    )
    title = models.CharField(_("标题"), max_length=60)
    image = models.ImageField(_("图片"), upload_to=banner_image_path)
    link = models.CharField(
        _("链接"),
        max_length=200,
        blank=True,
        validators=[validate_local_link],
        help_text=_("本站内地址，可留空。"),
    )
    order = models.PositiveSmallIntegerField(_("顺序"), default=0, help_text=_("小的在前。"))
    starts_on = models.DateField(_("开始日期"), null=True, blank=True)
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("横幅")
        verbose_name_plural = _("横幅")
        ordering = ["site", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="banner_dates_in_order",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self):
        super().clean()
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("结束日期不能早于开始日期。")})


class NewsPost(models.Model):
    """A news post of the site. The body is plain text: paragraphs are separated by blank lines and
    shown escaped, so no HTML from an editor ever reaches a page."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")

    site = models.ForeignKey(
        CitySite, verbose_name=_("城市站点"), on_delete=models.CASCADE, related_name="news"
    )
    title = models.CharField(_("标题"), max_length=120)
    summary = models.CharField(_("摘要"), max_length=200, blank=True, help_text=_("列表中显示，可留空。"))
    body = models.TextField(_("正文"), max_length=20000, help_text=_("纯文本；段落之间空一行。"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        _("发布时间"), default=timezone.now, help_text=_("已发布的文章从此时起显示；可以设为将来的时间。")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("新闻")
        verbose_name_plural = _("新闻")
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["site", "status", "-published_at"], name="news_site_listed_idx")]

    def __str__(self) -> str:
        return self.title

    def paragraphs(self) -> list[str]:
        return [block.strip() for block in self.body.replace("\r\n", "\n").split("\n\n") if block.strip()]
