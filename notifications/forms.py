from __future__ import annotations

from django import forms

from notifications.models import EXTERNAL_CHANNELS, Channel


class PreferencesForm(forms.Form):
    """One checkbox per topic and external channel; unticked means "do not send me this by …"."""

    def __init__(self, *args, topics, current: dict[tuple[str, str], bool], **kwargs):
        super().__init__(*args, **kwargs)
        self.topics = list(topics)
        for topic in self.topics:
            for channel in EXTERNAL_CHANNELS:
                self.fields[self.field_name(topic, channel)] = forms.BooleanField(
                    required=False, initial=current.get((topic, channel), True), label=Channel(channel).label
                )

    @staticmethod
    def field_name(topic: str, channel: str) -> str:
        return f"{topic}__{channel}"

    def rows(self):
        """(topic, [bound fields]) for the template, one fieldset per topic."""
        for topic in self.topics:
            yield topic, [self[self.field_name(topic, channel)] for channel in EXTERNAL_CHANNELS]

    def choices(self) -> dict[tuple[str, str], bool]:
        return {
            (topic, channel): self.cleaned_data[self.field_name(topic, channel)]
            for topic in self.topics
            for channel in EXTERNAL_CHANNELS
        }
