"""Search synonyms: staff keep the groups of words members use for the same thing."""

from django.contrib import admin

from discounts.models import SearchSynonym


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    list_display = ["__str__", "created_at"]
