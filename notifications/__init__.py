"""Notifications: what the portal tells a member, a union's staff or a merchant — in the inbox, by SMS
and by WeChat template message.

Where it sits. Every domain app emits notices (cards, the roster, bank files, allowances, settlement,
offers), so this app sits just above ``portal`` and below ``members``: it imports only ``portal``,
Django and libraries, and every app above may call it. It therefore never names a domain model:

- **Recipients are keys, not foreign keys.** A notice belongs to a :class:`~notifications.recipients.
  Recipient`, the pair ``(kind, id)``: ``("member", member.pk)`` for a member (members are not Django
  users) or ``("user", user.pk)`` for a Django user (union staff, merchant users). The pair is stored in
  two indexed columns; every read and write of a notice is filtered by both, so one recipient can
  never reach another's rows, whatever id is put in a URL.
- **The caller brings the contact details.** The domain app that emits a notice knows the member's
  phone or WeChat openid; it passes them to :func:`notifications.services.notify`, which keeps the
  address only on the delivery that needs it, and only until that delivery is sent, failed or skipped.
- **Members are recognised by the members app.** The member's inbox pages and the member API's inbox
  endpoints live in ``members`` (``members.views``, ``members.api``), which recognises a member as every
  other member page does and calls this app's selectors and services with
  ``Recipient.member(member.pk)``. The inbox of a signed-in user (union staff, merchant users) is this
  app's own (``notifications.views``), and its page helpers serve the member's inbox too.

What it holds. A :class:`~notifications.models.Notification` per recipient and event (the ``dedup_key``
is unique per recipient, so an event retried or emitted twice notifies once), one
:class:`~notifications.models.Delivery` per channel (the inbox, always; SMS and WeChat unless the
recipient opted out of that topic on that channel, or no address was given), and
:class:`~notifications.models.NotificationPreference` rows for the opt-outs.

How it sends. :func:`~notifications.services.notify` writes the notice and its deliveries in one
transaction and, once it commits, queues one Celery task per external delivery. The task claims its
delivery with a guarded ``UPDATE`` (a lease), sends through the backend named in settings
(``SMS_BACKEND``, ``WECHAT_BACKEND``; see :mod:`notifications.backends`) with no lock held, and records
the outcome; a failure that may pass (a timeout, a busy provider) is retried with growing waits up to
``NOTIFICATION_MAX_ATTEMPTS``, any other fails the delivery at once. The one-time sign-in codes of the
members app are texted through the same SMS backend (``members.sms``).

See docs/notifications.md."""
