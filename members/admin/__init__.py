"""The members app's admin, by model family: the union tree, members, banks and cards, issuance batches,
members' own requests. Importing the package registers them all (Django's admin autodiscovery imports
``members.admin``)."""

from members.admin import batches, cards, people, requests, unions

__all__ = ["batches", "cards", "people", "requests", "unions"]
