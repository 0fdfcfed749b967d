"""Webhooks: a merchant's own systems are told, by signed HTTPS requests, when a redemption is made or
voided (on the cashier screen as through the POS API) and when a monthly statement is ready.

Where it sits. Endpoints belong to a merchant and redemptions are the events, so this app sits above
``merchants`` and below ``discounts``: it imports ``merchants``, ``members``, ``portal``, Django and
libraries, never ``discounts`` (``discounts → webhooks → merchants → members → notifications →
portal``). The redemption rows are read through the model registry by the outbox
(:mod:`webhooks.outbox`), and the settlement code publishes ``statement.ready`` by calling
:func:`webhooks.services.event_publish`.

What it holds. An :class:`~webhooks.models.Endpoint` per registered URL (its secret encrypted, shown
once), an :class:`~webhooks.models.Event` per fact (the event id is unique: a fact is one event,
however often it is published), a :class:`~webhooks.models.Delivery` per endpoint and event (unique:
an event reaches an endpoint once) and a :class:`~webhooks.models.DeliveryAttempt` per try.

How it sends. A delivery is queued once its event's transaction commits; the task claims it with a
guarded UPDATE (a lease), resolves the host and refuses any address that is not public
(:mod:`webhooks.addresses`), signs the body (:mod:`webhooks.signing`) and POSTs it with short
timeouts and no redirects (:mod:`webhooks.sending`). A 2xx is success; anything else is tried again
after 1 min, 5 min, 30 min, 2 h and 12 h (``WEBHOOK_RETRY_SCHEDULE``), then the delivery fails.

See docs/webhooks.md."""
