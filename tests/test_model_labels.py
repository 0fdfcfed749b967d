"""Every model and field of the portal has a label of its own and every model says what it is, so
the admin (and the English translation) never falls back to "offer limit change object (7)" or a
field's Python name."""

from __future__ import annotations

from django.apps import apps
from django.db import models

from tests.test_layers import LAYERS


def our_models():
    return [model for model in apps.get_models() if model._meta.app_label in LAYERS]


def test_every_model_has_a_str_of_its_own():
    missing = [model.__name__ for model in our_models() if model.__str__ is models.Model.__str__]
    assert missing == []


def test_every_model_has_a_chinese_verbose_name():
    missing = [model.__name__ for model in our_models() if str(model._meta.verbose_name).isascii()]
    assert missing == []


def test_every_field_has_a_label_of_its_own():
    missing = [
        f"{model._meta.label}.{field.name}"
        for model in our_models()
        for field in model._meta.get_fields()
        if getattr(field, "concrete", False)
        and not field.auto_created
        and str(field.verbose_name) == field.name.replace("_", " ")
    ]
    assert missing == []
