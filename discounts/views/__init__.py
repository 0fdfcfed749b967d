"""Pages of discounts, by capability: ``offers`` (the member's offer list and detail, the home page),
``history`` (the member's own redemptions), ``cashier`` (the till under /merchant/till/),
``merchant_offers`` (the merchant portal's offer pages) and ``statements`` (the merchant's monthly
statement and the staff's union subsidies report)."""
