"""Demo city sites: Tangshan's 唐工惠 and Shijiazhuang's 石家庄职工之家, each with its own colours, a
logo and banners drawn here, news posts, a WeChat QR code and service contacts.

Idempotent: a site that exists is left as it is (its staff may have changed it); only what is
missing is created. Needs the union tree (``members.demo.seed_unions``)."""

from __future__ import annotations

import datetime
import io
import math

import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from cities import images
from cities.models import Banner, CitySite, NewsPost
from members.models import Union

DEMO_SITES = [
    {
        "union_code": "130200",
        "slug": "tangshan",
        "name": "唐工惠",
        "short_name": "唐工惠",
        "primary_color": "#0b5cab",
        "accent_color": "#08427a",
        "wechat_account": "唐工惠",
        "service_phone": "0315-12351",
        "service_hours": "工作日 8:30–17:30",
        "service_address": "唐山市总工会职工服务中心",
        "motif": "star",
        "banners": [
            ("特惠圈六大类商家，持卡即享", "/c/tangshan/offers/"),
            ("会员专享品牌商城，低于市场价", "/c/tangshan/news/"),
        ],
        "news": [
            (
                "唐工惠特惠圈扩容：六大类签约商家持卡即享优惠",
                "百货超市、休闲娱乐、酒店餐饮等六大类商家加入特惠圈。",
                "唐工惠特惠圈本月新增一批签约商家，覆盖百货超市、休闲娱乐、酒店餐饮、医疗健康、"
                "教育培训和生活服务六大类。\n\n会员在签约商家收银台出示会员卡二维码即可享受优惠，"
                "每日名额以页面显示为准。\n\n更多商家正在签约中，敬请关注唐工惠公众号。",
            ),
            (
                "会员专享品牌商城上线",
                "品牌商品以低于市场的会员价供应。",
                "唐工惠会员专享品牌商城已上线，精选品牌商品以会员价供应。\n\n会员登录后即可在线领取优惠券码，"
                "每人限领数量以活动页面为准。",
            ),
            (
                "夏季送清凉活动开始报名",
                "",
                "市总工会夏季送清凉活动开始报名，各基层工会请于本月底前通过平台报送一线职工名单。",
            ),
        ],
    },
    {
        "union_code": "130100",
        "slug": "shijiazhuang",
        "name": "石家庄职工之家",
        "short_name": "职工之家",
        "primary_color": "#17804a",
        "accent_color": "#0f5c35",
        "wechat_account": "石家庄职工之家",
        "service_phone": "0311-12351",
        "service_hours": "周一至周五 9:00–17:00",
        "service_address": "石家庄市总工会职工服务大厅",
        "motif": "diamond",
        "banners": [
            ("周末10元观影，会员专享", "/c/shijiazhuang/offers/?category=entertainment"),
            ("住院补贴每天20元，线上申领", "/c/shijiazhuang/news/"),
        ],
        "news": [
            (
                "周末观影名额再次增加",
                "星光国际影城周末会员价每日名额增至1500张。",
                "应广大会员要求，星光国际影城周末10元观影的每日名额由1000张增至1500张。\n\n"
                "名额每日零点更新，售完即止。",
            ),
            (
                "职工住院补贴申领指南",
                "使用会员卡支付的住院费用可申领每天20元补贴。",
                "会员住院期间使用工会会员卡支付的费用，可按住院天数申领每天20元的工会补贴。\n\n"
                "请在出院后通过所在基层工会提交住院天数和费用凭证，补贴经审核后发放到会员卡。",
            ),
        ],
    },
]
DRAFT_TITLE = "（草稿）下月活动预告"


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _png(image: Image.Image) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, format="PNG")
    out.seek(0)
    return out


def draw_logo(*, primary: str, accent: str, motif: str) -> io.BytesIO:
    """A round emblem in the site's colours: a star or a diamond in a ring."""
    size = 512
    logo = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.ellipse((8, 8, size - 8, size - 8), fill=_rgb(primary))
    draw.ellipse((56, 56, size - 56, size - 56), outline=(255, 255, 255), width=18)
    centre = size / 2
    if motif == "star":
        points = []
        for index in range(10):
            radius = 150 if index % 2 == 0 else 62
            angle = math.pi / 2 + index * math.pi / 5
            points.append((centre + radius * math.cos(angle), centre - radius * math.sin(angle)))
        draw.polygon(points, fill=(255, 255, 255))
    else:
        draw.polygon(
            [(centre, centre - 150), (centre + 120, centre), (centre, centre + 150), (centre - 120, centre)],
            fill=(255, 255, 255),
        )
        draw.ellipse((centre - 40, centre - 40, centre + 40, centre + 40), fill=_rgb(accent))
    return _png(logo)


def draw_banner(*, primary: str, accent: str, variant: int) -> io.BytesIO:
    """A 1200×600 picture: a diagonal blend of the two colours with a few light circles (the title is
    written over it by the page, so no font is needed)."""
    width, height = 1200, 600
    start, end = _rgb(primary), _rgb(accent)
    banner = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(banner)
    for x in range(width):
        share = x / (width - 1)
        colour = tuple(round(a + (b - a) * share) for a, b in zip(start, end, strict=True))
        draw.line([(x, 0), (x, height)], fill=colour)
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    shapes = ImageDraw.Draw(overlay)
    for index in range(4):
        radius = 90 + 60 * ((index + variant) % 3)
        cx = 200 + index * 280 + variant * 40
        cy = 160 + ((index * 137 + variant * 61) % 280)
        shapes.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(255, 255, 255, 40))
    banner.paste(overlay, (0, 0), overlay)
    out = io.BytesIO()
    banner.save(out, format="JPEG", quality=88)
    out.seek(0)
    return out


def draw_wechat_qr(url: str) -> io.BytesIO:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=10, border=4)
    out.seek(0)
    return out


def site_address(slug: str, base_url: str | None = None) -> str:
    """Where the demo QR code leads: the site's own about page on the portal's public address
    (NOTIFICATIONS_LINK_BASE_URL), or the development server's."""
    base = (base_url or settings.NOTIFICATIONS_LINK_BASE_URL or "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/c/{slug}/about/"


def _store(field, source: io.BytesIO, kind: images.ImageKind) -> None:
    content = images.normalise_image(source, kind=kind)
    field.save(content.name, content, save=False)


@transaction.atomic
def seed_cities(*, base_url: str | None = None, log=print) -> int:
    """Create the demo sites that are missing; returns how many were created."""
    unions = Union.objects.in_bulk([spec["union_code"] for spec in DEMO_SITES], field_name="code")
    if len(unions) != len(DEMO_SITES):
        raise RuntimeError("the union tree is missing: run members.demo.seed_unions first")
    created = 0
    now = timezone.now()
    for spec in DEMO_SITES:
        if CitySite.objects.filter(slug=spec["slug"]).exists():
            continue
        site = CitySite(
            union=unions[spec["union_code"]],
            **{
                key: spec[key]
                for key in (
                    "slug",
                    "name",
                    "short_name",
                    "primary_color",
                    "accent_color",
                    "wechat_account",
                    "service_phone",
                    "service_hours",
                    "service_address",
                )
            },
        )
        _store(
            site.logo,
            draw_logo(primary=spec["primary_color"], accent=spec["accent_color"], motif=spec["motif"]),
            images.LOGO,
        )
        _store(site.wechat_qr, draw_wechat_qr(site_address(spec["slug"], base_url)), images.WECHAT_QR)
        site.full_clean()
        site.save()
        for order, (title, link) in enumerate(spec["banners"]):
            banner = Banner(site=site, title=title, link=link, order=order)
            _store(
                banner.image,
                draw_banner(primary=spec["primary_color"], accent=spec["accent_color"], variant=order),
                images.BANNER,
            )
            banner.full_clean()
            banner.save()
        for age, (title, summary, body) in enumerate(spec["news"]):
            NewsPost.objects.create(
                site=site,
                title=title,
                summary=summary,
                body=body,
                status=NewsPost.Status.PUBLISHED,
                published_at=now - datetime.timedelta(days=2 * age + 1),
            )
        NewsPost.objects.create(site=site, title=DRAFT_TITLE, body="尚未发布。", status=NewsPost.Status.DRAFT)
        created += 1
    if created:
        log(f"city sites: {created} created")
    return created
