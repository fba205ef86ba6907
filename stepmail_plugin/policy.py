"""Who may receive what: opt-outs, bounces and complaints, checked for many addresses at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connections, router

from .models import Contact, Suppression, SuppressionReason
from .rows import column, fetch, placeholders, table


def _rows(emails: list[str]) -> list[tuple[str, int | None, str]]:
    """(email, sequence id, reason) of the suppressions of these addresses: written out (rows.py),
    as the dispatcher asks for a whole batch's addresses and compiling the ORM query with its
    list cost more than running it."""
    using = router.db_for_read(Suppression)
    c = connections[using]
    return fetch(
        f"SELECT {column(Suppression, 'email', c)}, {column(Suppression, 'sequence', c)},"
        f" {column(Suppression, 'reason', c)} FROM {table(Suppression, c)}"
        f" WHERE {column(Suppression, 'email', c)} IN ({placeholders(emails)})",
        emails,
        using=using,
    )


class SuppressionIndex:
    """The suppressions of a set of addresses, loaded in one query."""

    def __init__(self, emails: Iterable[str], *, rows: Iterable[tuple[str, int | None, str]] | None = None):
        """``rows``: the (email, sequence id, reason) of the suppressions when the caller already
        loaded them (nothing is queried then)."""
        self._by_email: dict[str, list[tuple[int | None, str]]] = defaultdict(list)
        if rows is not None:
            for email, sequence_id, reason in rows:
                self._by_email[email].append((sequence_id, reason))
            return
        emails = list(set(emails))
        if emails:
            for email, sequence_id, reason in _rows(emails):
                self._by_email[email].append((sequence_id, reason))

    def reason(self, contact: Contact, sequence_id: int, is_marketing: bool) -> str:
        """Why ``contact`` must not get mail of this sequence, or ``""`` if they may."""
        if contact.bounced_at:
            return SuppressionReason.BOUNCED
        if contact.complained_at:
            return SuppressionReason.COMPLAINED
        for suppressed_sequence, reason in self._by_email.get(contact.email, ()):
            if reason in (SuppressionReason.BOUNCED, SuppressionReason.COMPLAINED):
                return reason
            if is_marketing and suppressed_sequence in (None, sequence_id):
                return reason
        if is_marketing and (contact.unsubscribed_at or contact.consent == "opted_out"):
            return SuppressionReason.UNSUBSCRIBED
        return ""
