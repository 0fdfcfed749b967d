"""Benefit funds (普惠资金): the money each level of the union puts into benefits, year by year.

The province opens a yearly fund and allocates part of it to the cities, a city to its counties; every
level may add money of its own, and staff may move money between funds of their subtree. What the
union pays — its share of a co-funded discount, an allowance paid out — is spent from one fund, and a
void gives it back.

Where it sits. Imports point one way: ``discounts → merchants → funds → members → notifications →
portal``. This app reads ``members`` (the union tree) and ``portal`` (scoping, audit, errors, exports)
and nothing above it: the apps that spend from a fund (redemptions, allowance claims, payment runs)
call :mod:`funds.services` and name what caused a movement by a generic reference, the pair
``(type, id)`` — ``("discounts.redemption", "123")`` — never by a foreign key, so this app does not
import them.

What holds. A fund's money columns change only through :mod:`funds.services`, each change by one
conditional ``UPDATE`` whose ``WHERE`` keeps the fund from going below zero, and each change leaves one
row in the append-only ledger (:class:`~funds.models.FundMovement`): the columns always equal the sums
of the ledger (:func:`funds.selectors.fund_ledger_mismatches` checks it). CHECK constraints make a
negative balance impossible in the database itself.

See docs/funds.md."""
