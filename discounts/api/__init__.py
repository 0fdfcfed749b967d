"""The APIs of discounts, by capability: ``pos`` (the POS API merchants' tills integrate against),
``member`` (a member's own redemption history) and ``public`` (categories and offers, for anyone)."""
