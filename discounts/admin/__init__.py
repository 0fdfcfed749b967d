"""The discounts app's admin, by model family: offers (with their review, limits and codes) and
redemptions. Importing the package registers them all (Django's admin autodiscovery imports
``discounts.admin``)."""

from discounts.admin import offers, redemptions, synonyms

__all__ = ["offers", "redemptions", "synonyms"]
