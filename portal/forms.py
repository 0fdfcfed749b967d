"""Form pieces every app shares.

Date and time inputs: the browser's <input type="date"> and <input type="time"> only accept ISO values
(2026-12-03, 09:30) whatever the page's language, while Django would write them in the active locale's
first input format (Chinese: 2026/12/03), which the browser silently drops. Every form uses these."""

from __future__ import annotations

from django import forms

ISO_DATE = "%Y-%m-%d"
ISO_TIME = "%H:%M"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=ISO_DATE)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=ISO_TIME)
