"""``{% offer_picture offer %}`` and ``{% merchant_picture merchant %}``: the picture a page shows, with
its size kept by the browser and loaded lazily."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from discounts.pictures import offer_picture_url
from merchants.pictures import SHOWN_SIZE, merchant_picture_url

register = template.Library()


def _img(url: str, css_class: str, eager: bool):
    width, height = SHOWN_SIZE
    return format_html(
        '<img class="{}" src="{}" width="{}" height="{}" alt="" loading="{}" decoding="async">',
        css_class,
        url,
        width,
        height,
        "eager" if eager else "lazy",
    )


@register.simple_tag
def offer_picture(offer, css_class="offer-picture", eager=False):
    return _img(offer_picture_url(offer), css_class, eager)


@register.simple_tag
def merchant_picture(merchant, css_class="merchant-picture", eager=False):
    return _img(merchant_picture_url(merchant), css_class, eager)
