"""Orders and registrations enroll customers: on commit, once, and never breaking the checkout."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from oscar.apps.customer.signals import user_registered
from oscar.apps.order.models import Order
from oscar.apps.order.signals import order_placed

import stepmail_plugin
from stepmail_plugin import enrollment as enrollment_module
from stepmail_plugin.models import ConsentStatus, Contact, Delivery, Enrollment

from .factories import _place_order, make_sequence, make_user, place_order

ONE_STEP = [{"subject": "ありがとう", "delay": 0}]


@pytest.mark.django_db
def test_a_guest_order_enrolls_the_guest_email():
    sequence = make_sequence(steps=ONE_STEP)
    order = place_order(guest_email="Guest@Example.JP", shipping_address=None)
    enrollment = Enrollment.objects.get()
    assert enrollment.sequence == sequence
    assert enrollment.contact.email == "guest@example.jp"
    assert enrollment.contact.user is None
    assert enrollment.trigger_object == order
    assert enrollment.anchor_at == order.date_placed


@pytest.mark.django_db
def test_one_enrollment_per_order_even_if_the_signal_comes_twice():
    make_sequence(steps=ONE_STEP)
    user = make_user()
    first = place_order(user=user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_placed.send(sender=None, order=first, user=user)  # a duplicate signal
    place_order(user=user)  # a second order is a new journey
    assert Enrollment.objects.filter(sequence__trigger="order_placed").count() == 2
    assert Delivery.objects.count() == 2
    assert Contact.objects.get(email="hanako@example.jp").user == user


@pytest.mark.django_db(transaction=True)
def test_enrollment_happens_after_the_checkout_transaction_commits():
    make_sequence(steps=ONE_STEP)
    with transaction.atomic():
        _place_order(None, "late@example.jp", 1000)
        assert Enrollment.objects.count() == 0  # not before the order is committed
    assert Enrollment.objects.get().contact.email == "late@example.jp"


@pytest.mark.django_db(transaction=True)
def test_a_failing_enrollment_never_breaks_the_checkout(monkeypatch, caplog):
    make_sequence(steps=ONE_STEP)

    def broken(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(enrollment_module, "enroll", broken)
    with caplog.at_level("ERROR", logger="stepmail_plugin"):
        order = _place_order(None, "guest@example.jp", 1000)
    assert Order.objects.filter(pk=order.pk).exists()
    assert Enrollment.objects.count() == 0
    assert "enrollment failed" in caplog.text


@pytest.mark.django_db
def test_registration_is_counted_once_however_it_arrives():
    welcome = make_sequence("ようこそ", "user_registered", steps=ONE_STEP)
    user = make_user(email="new@example.jp")  # post_save of the user model
    with TestCase.captureOnCommitCallbacks(execute=True):
        user_registered.send(sender=None, request=None, user=user)  # Oscar's signal too
    enrollment = Enrollment.objects.get(sequence=welcome)
    assert enrollment.anchor_at == user.date_joined
    contact = enrollment.contact
    assert (contact.consent, contact.consent_source) == (ConsentStatus.OPTED_IN, "registration")


@pytest.mark.django_db
def test_createsuperuser_counts_as_registration(monkeypatch):
    make_sequence("ようこそ", "user_registered", steps=ONE_STEP)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "pw-for-tests")
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("createsuperuser", "--noinput", username="boss", email="boss@example.jp")
    assert Enrollment.objects.get().contact.email == "boss@example.jp"


@pytest.mark.django_db
def test_users_without_email_are_not_enrolled():
    make_sequence("ようこそ", "user_registered", steps=ONE_STEP)
    with TestCase.captureOnCommitCallbacks(execute=True):
        get_user_model().objects.create_user(username="noemail", email="")
    assert Enrollment.objects.count() == 0


@pytest.mark.django_db
def test_enroll_api_for_custom_triggers():
    make_sequence("ウェビナー後", "custom", steps=ONE_STEP)
    created = stepmail_plugin.enroll("Visitor@Example.jp", "custom", context={"first_name": "太郎"},
                                     consent_source="ウェビナー申込フォーム")
    assert [e.contact.email for e in created] == ["visitor@example.jp"]
    contact = created[0].contact
    assert (contact.consent, contact.consent_source) == (ConsentStatus.OPTED_IN, "ウェビナー申込フォーム")
    assert contact.consent_at is not None
    assert stepmail_plugin.enroll("visitor@example.jp", "custom") == []  # once per contact
    with pytest.raises(LookupError):
        stepmail_plugin.enroll("visitor@example.jp", "no_such_trigger")


@pytest.mark.django_db
def test_custom_marketing_sequences_take_only_people_who_gave_consent():
    """Marketing mail goes to people who opted in (or bought): a custom trigger is neither, so
    the caller states the consent, which is recorded with its source."""
    make_sequence("ニュースレター", "custom", steps=ONE_STEP)
    make_sequence("セミナーのご案内", "custom", steps=ONE_STEP, kind="transactional")
    created = stepmail_plugin.enroll("stranger@example.jp", "custom")
    assert [e.sequence.title for e in created] == ["セミナーのご案内"]
    assert Contact.objects.get(email="stranger@example.jp").consent == ConsentStatus.UNKNOWN
    Contact.objects.create(email="member@example.jp", consent=ConsentStatus.OPTED_IN, consent_source="registration")
    assert sorted(e.sequence.title for e in stepmail_plugin.enroll("member@example.jp", "custom")) == [
        "セミナーのご案内", "ニュースレター"]


@pytest.mark.django_db
def test_marketing_sequences_skip_people_who_opted_out():
    make_sequence("ようこそ", "custom", steps=ONE_STEP)
    Contact.objects.create(email="no@example.jp", consent=ConsentStatus.OPTED_OUT)
    assert stepmail_plugin.enroll("no@example.jp", "custom") == []


@pytest.mark.django_db
def test_enrollment_queries_do_not_grow_with_the_number_of_sequences():
    def queries_for_one_order(email):
        with CaptureQueriesContext(connection) as ctx:
            stepmail_plugin.enroll(email, "order_placed", obj=Order(pk=1))
        return len(ctx)

    make_sequence("A", steps=ONE_STEP)
    one = queries_for_one_order("a@example.jp")
    for n in range(9):
        make_sequence(f"S{n}", steps=ONE_STEP)
    ten = queries_for_one_order("b@example.jp")
    assert Enrollment.objects.filter(contact__email="b@example.jp").count() == 10
    assert ten == one
