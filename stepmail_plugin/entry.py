"""Who enters which sequence: trigger matching, targeting filters and re-entry.

Called by :func:`stepmail_plugin.enrollment.enroll` for one contact and the live sequences of a
trigger. The number of queries is fixed (it never grows with the number of sequences): rule
lists are loaded for all sequences at once, purchase history once per contact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from .models import Contact, Enrollment, SequencePage
from .models.rules import CustomerFilter, Reentry
from .triggers.registry import Trigger

ORDER_MODEL = "order.order"


def is_order(obj: Any) -> bool:
    return obj is not None and getattr(getattr(obj, "_meta", None), "label_lower", "") == ORDER_MODEL


@dataclass
class RuleLists:
    """The many-to-many rules of one sequence, as primary keys."""

    products: set[int] = field(default_factory=set)
    categories: set[int] = field(default_factory=set)
    groups: set[int] = field(default_factory=set)
    exit_products: set[int] = field(default_factory=set)


def rule_lists_of(sequences: list[SequencePage]) -> list[RuleLists]:
    """The targeting lists of ``sequences``, in their order, kept on the sequence objects:
    enrollment reuses the cached live sequences (``live.py``), so the lists are loaded once per
    cache generation."""
    missing = [s for s in sequences if getattr(s, "_stepmail_rule_lists", None) is None]
    if missing:
        loaded = load_rule_lists([s.pk for s in missing])
        for sequence in missing:
            sequence._stepmail_rule_lists = loaded[sequence.pk]
    return [s._stepmail_rule_lists for s in sequences]


def load_rule_lists(sequence_ids: list[int], *, exits: bool = False) -> dict[int, RuleLists]:
    """Rule lists of many sequences: one query per kind of list."""
    lists: dict[int, RuleLists] = defaultdict(RuleLists)
    if not sequence_ids:
        return lists
    kinds = [("filter_products", "products", "product_id"), ("filter_categories", "categories", "category_id"),
             ("filter_groups", "groups", "group_id")]
    if exits:
        kinds = [("exit_products", "exit_products", "product_id")]
    for field_name, attr, target in kinds:
        through = SequencePage._meta.get_field(field_name).remote_field.through
        for sequence_id, target_id in through.objects.filter(sequencepage_id__in=sequence_ids).values_list(
            "sequencepage_id", target
        ):
            getattr(lists[sequence_id], attr).add(target_id)
    return lists


class CustomerFacts:
    """Purchase facts of one contact, loaded on first use and once."""

    def __init__(self, contact: Contact, obj: Any):
        self.contact = contact
        self.obj = obj
        self._cache: dict[str, Any] = {}

    def _get(self, name: str, load):
        if name not in self._cache:
            self._cache[name] = load()
        return self._cache[name]

    @property
    def order(self):
        from .triggers import purchases

        return self._get("order", lambda: purchases.order_facts(self.obj) if is_order(self.obj) else None)

    @property
    def history(self):
        from .triggers import purchases

        return self._get("history", lambda: purchases.customer_orders(self.contact, with_products=True))

    @property
    def products(self) -> set[int]:
        if self.order is not None:
            return self.order.product_ids
        return {p for o in self.history for p in o.product_ids}

    @property
    def category_paths(self) -> set[str]:
        from .triggers import purchases

        return self._get("paths", lambda: purchases.category_paths_of(self.products))

    @property
    def total(self) -> Decimal:
        if self.order is not None:
            return self.order.total
        return sum((o.total for o in self.history), Decimal(0))

    @property
    def earlier_orders(self) -> int:
        """Orders before the triggering one (other triggers: all orders)."""
        from .triggers import purchases

        if self.order is None:
            return len(self.history)
        return self._get(
            "earlier",
            lambda: len([o for o in purchases.customer_orders(self.contact, before=self.order.placed)
                         if o.id != self.order.id]),
        )

    @property
    def group_ids(self) -> set[int]:
        def load():
            if not self.contact.user_id:
                return set()
            from django.contrib.auth import get_user_model

            User = get_user_model()
            return set(User.groups.through.objects.filter(user_id=self.contact.user_id).values_list("group_id", flat=True))

        return self._get("groups", load)


def _passes(sequence: SequencePage, lists: RuleLists, facts: CustomerFacts, filter_paths: dict[int, str]) -> bool:
    if lists.groups and not (lists.groups & facts.group_ids):
        return False
    if sequence.filter_customer == CustomerFilter.FIRST:
        if facts.order is not None and facts.earlier_orders > 0:
            return False
        if facts.order is None and facts.earlier_orders > 1:
            return False
    elif sequence.filter_customer == CustomerFilter.REPEAT:
        if facts.order is not None and facts.earlier_orders == 0:
            return False
        if facts.order is None and facts.earlier_orders < 2:
            return False
    if sequence.filter_min_total is not None and facts.total < sequence.filter_min_total:
        return False
    if lists.products or lists.categories:
        bought = lists.products and bool(lists.products & facts.products)
        in_category = False
        if not bought and lists.categories:
            wanted = [filter_paths[c] for c in lists.categories if c in filter_paths]
            in_category = any(path.startswith(w) for path in facts.category_paths for w in wanted)
        if not (bought or in_category):
            return False
    return True


def select_sequences(sequences: list[SequencePage], contact: Contact, trigger: Trigger, obj: Any,
                     match: dict[str, Any] | None = None) -> list[SequencePage]:
    """The sequences whose trigger settings and targeting filters this contact passes."""
    match = match or {}
    if "sequence_ids" in match:
        wanted = set(match["sequence_ids"])
        sequences = [s for s in sequences if s.pk in wanted]
    if match.get("skip_filters"):  # staff moving a contact by hand
        return sequences
    if trigger.sequence_filter is not None:
        sequences = [s for s in sequences if trigger.sequence_filter(s, obj, match)]
    if not sequences:
        return []
    lists = rule_lists_of(sequences)
    facts = CustomerFacts(contact, obj)
    all_categories = {c for rules in lists for c in rules.categories}
    filter_paths: dict[int, str] = {}
    if all_categories:
        from .triggers import purchases

        filter_paths = purchases.category_paths(all_categories)
    return [s for s, rules in zip(sequences, lists) if _passes(s, rules, facts, filter_paths)]


def plan_enrollments(
    sequences: list[SequencePage],
    contact: Contact,
    trigger: Trigger,
    *,
    obj: Any,
    anchor: datetime,
    context: dict[str, Any],
    key: str | None = None,
    match: dict[str, Any] | None = None,
    new_contact: bool = False,
) -> list[dict[str, Any]]:
    """The enrollments of ``contact`` in those ``sequences`` it may enter now, as rows to insert
    (values by attname; the other fields take their defaults) — plain dicts, since checkout pays
    for every model instance (``new_contact``: just created, so it has no earlier enrollments to
    look up)."""
    sequences = select_sequences(sequences, contact, trigger, obj, match)
    if not sequences:
        return []
    object_type, object_type_id, object_id, natural = None, None, "", key or ""
    if obj is not None:
        object_type = ContentType.objects.get_for_model(obj)  # cached by Django after the first
        object_type_id = object_type.pk
        object_id = str(obj.pk)
        if key is None and trigger.per_object:
            natural = f"{object_type.app_label}.{object_type.model}:{obj.pk}"

    planned: list[tuple[SequencePage, int, str]] = []  # (sequence, its id, the enrollment's key)
    whole: list[int] = []  # sequences entered once (per cool-down): any earlier enrollment counts
    for sequence in sequences:
        pk, reentry = sequence.pk, sequence.reentry
        if reentry == Reentry.ONCE:
            key_value = ""
        elif reentry == Reentry.COOLDOWN and sequence.cooldown_days:
            # Same cool-down period, same key: two processes enrolling at once collide on the
            # unique constraint instead of enrolling twice.
            period = timedelta(days=sequence.cooldown_days).total_seconds()
            key_value = f"cooldown:{int(anchor.timestamp() // period)}"
        else:
            key_value = natural
        planned.append((sequence, pk, key_value))
        if reentry in (Reentry.ONCE, Reentry.COOLDOWN):
            whole.append(pk)
    previous: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    if not new_contact:
        earlier = Enrollment.objects.filter(contact=contact, sequence_id__in=[pk for _, pk, _ in planned]).filter(
            Q(key__in={key_value for _, _, key_value in planned}) | Q(sequence_id__in=whole)
        )
        for sequence_id, prev_key, prev_anchor in earlier.values_list("sequence_id", "key", "anchor_at"):
            previous[sequence_id].append((prev_key, prev_anchor))

    supply: list[int | None] = []
    new = []
    contact_id, trigger_key = contact.pk, trigger.key
    for sequence, pk, key_value in planned:
        earlier = previous.get(pk)
        if earlier:
            if sequence.reentry == Reentry.ONCE:
                continue
            if sequence.reentry == Reentry.COOLDOWN and sequence.cooldown_days:
                cooldown = timedelta(days=sequence.cooldown_days)
                if any(abs(anchor - prev_anchor) < cooldown or prev_key == key_value
                       for prev_key, prev_anchor in earlier):
                    continue
            elif any(prev_key == key_value for prev_key, _ in earlier):
                continue
        if not supply:
            supply.append(_supply_days(obj))
        new.append({
            "sequence_id": pk,
            "contact_id": contact_id,
            "trigger": trigger_key,
            "key": key_value,
            "object_type_id": object_type_id,
            "object_id": object_id,
            "anchor_at": anchor,
            "context": context,
            "supply_days": supply[0],
        })
    return new


def _supply_days(obj: Any) -> int | None:
    if not is_order(obj):
        return None
    from .triggers import purchases

    return purchases.supply_days(obj)
