"""Admin forms of the city sites: every uploaded image is checked and drawn again
(``cities.images.normalise_image``) before it is stored."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cities import images
from cities.models import Banner, CitySite, NewsPost

IMAGE_ACCEPT = "image/png,image/jpeg,image/webp"


def _normalised(form: forms.ModelForm, field: str, kind: images.ImageKind):
    value = form.cleaned_data.get(field)
    # Only a new upload is processed; False (cleared) and the stored file pass through.
    if value and hasattr(value, "content_type"):
        return images.normalise_image(value, kind=kind)
    return value


def _image_widget() -> forms.ClearableFileInput:
    return forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT})


class CitySiteForm(forms.ModelForm):
    class Meta:
        model = CitySite
        fields = (
            "union",
            "slug",
            "name",
            "short_name",
            "logo",
            "primary_color",
            "accent_color",
            "wechat_account",
            "wechat_qr",
            "service_phone",
            "service_hours",
            "service_address",
            "is_active",
        )
        widgets = {
            "logo": _image_widget(),
            "wechat_qr": _image_widget(),
            "primary_color": forms.TextInput(attrs={"type": "color"}),
            "accent_color": forms.TextInput(attrs={"type": "color"}),
        }

    def clean_logo(self):
        return _normalised(self, "logo", images.LOGO)

    def clean_wechat_qr(self):
        return _normalised(self, "wechat_qr", images.WECHAT_QR)

    def clean_primary_color(self):
        return (self.cleaned_data.get("primary_color") or "").lower()

    def clean_accent_color(self):
        return (self.cleaned_data.get("accent_color") or "").lower()


class BannerForm(forms.ModelForm):
    class Meta:
        model = Banner
        fields = ("site", "title", "image", "link", "order", "starts_on", "ends_on", "is_active")
        widgets = {"image": _image_widget()}

    def clean_image(self):
        return _normalised(self, "image", images.BANNER)


class NewsPostForm(forms.ModelForm):
    class Meta:
        model = NewsPost
        fields = ("site", "title", "summary", "body", "status", "published_at")
        widgets = {"body": forms.Textarea(attrs={"rows": 16})}
        help_texts = {"body": _("纯文本；段落之间空一行。不支持 HTML，输入的标签会原样显示。")}
