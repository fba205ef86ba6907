"""Who enters: products and categories bought, first or repeat customers, order totals, groups."""

from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oscar.core.loading import get_model

from stepmail_plugin.models import Enrollment

from .builders import make_product, order_of, with_rules
from .factories import make_sequence, make_user

Category = get_model("catalogue", "Category")
ONE = [{"subject": "ありがとう"}]


def enrolled_in(sequence):
    return sorted(Enrollment.objects.filter(sequence=sequence).values_list("contact__email", flat=True))


@pytest.mark.django_db
def test_cross_sell_only_to_buyers_of_the_chosen_product():
    shirt, denim = make_product("リネンシャツ"), make_product("デニム")
    shirt_buyers = with_rules(make_sequence("シャツ購入者へ", steps=ONE), filter_products=[shirt])
    order_of(shirt, guest_email="a@example.jp")
    order_of(denim, guest_email="b@example.jp")
    order_of(denim, (shirt, 2), guest_email="c@example.jp")
    assert enrolled_in(shirt_buyers) == ["a@example.jp", "c@example.jp"]


@pytest.mark.django_db
def test_a_category_includes_its_subcategories():
    shirt = make_product("リネンシャツ", category="衣類 > トップス > シャツ")
    tea = make_product("緑茶", category="食品 > お茶")
    tops = Category.objects.get(name="トップス")
    clothes_buyers = with_rules(make_sequence("トップス購入者", steps=ONE), filter_categories=[tops])
    order_of(shirt, guest_email="a@example.jp")
    order_of(tea, guest_email="b@example.jp")
    assert enrolled_in(clothes_buyers) == ["a@example.jp"]


@pytest.mark.django_db
def test_first_time_and_repeat_customers():
    first = with_rules(make_sequence("初回購入者", steps=ONE), filter_customer="first")
    repeat = with_rules(make_sequence("リピーター", steps=ONE), filter_customer="repeat")
    product = make_product()
    user = make_user()
    order_of(product, user=user)
    order_of(product, guest_email="hanako@example.jp")  # the same person, as a guest
    assert Enrollment.objects.filter(sequence=first).count() == 1
    assert Enrollment.objects.filter(sequence=repeat).count() == 1
    assert enrolled_in(first) == enrolled_in(repeat) == ["hanako@example.jp"]


@pytest.mark.django_db
def test_minimum_order_total():
    big_spenders = with_rules(make_sequence("高額購入者", steps=ONE), filter_min_total=D("10000"))
    order_of(make_product("バッグ", price=D("12000")), guest_email="rich@example.jp")
    order_of(make_product("靴下", price=D("800")), guest_email="thrifty@example.jp")
    assert enrolled_in(big_spenders) == ["rich@example.jp"]


@pytest.mark.django_db
def test_user_groups_for_a_registration_sequence():
    wholesale = Group.objects.create(name="卸売")
    make_user("retail@example.jp")
    members = with_rules(make_sequence("卸会員ようこそ", "user_registered", steps=ONE), filter_groups=[wholesale])
    buyer = make_user("shop@example.jp")  # registered, then put in the group
    assert enrolled_in(members) == []
    buyer.groups.add(wholesale)
    import stepmail_plugin

    stepmail_plugin.enroll(buyer, "user_registered")
    assert enrolled_in(members) == ["shop@example.jp"]


@pytest.mark.django_db
def test_other_triggers_look_at_the_customers_whole_history():
    shirt = make_product("リネンシャツ")
    loyal = with_rules(make_sequence("シャツ愛用者", "custom", steps=ONE), filter_products=[shirt], filter_customer="repeat")
    order_of(shirt, guest_email="loyal@example.jp")
    order_of(make_product("靴"), guest_email="loyal@example.jp")
    order_of(shirt, guest_email="once@example.jp")
    import stepmail_plugin

    stepmail_plugin.enroll("loyal@example.jp", "custom", purchase_relationship=True)
    stepmail_plugin.enroll("once@example.jp", "custom", purchase_relationship=True)
    assert enrolled_in(loyal) == ["loyal@example.jp"]


@pytest.mark.django_db
def test_filters_do_not_add_queries_per_sequence():
    shirt = make_product("リネンシャツ", category="衣類 > シャツ")
    order = order_of(shirt, guest_email="first@example.jp")
    shirts = Category.objects.get(name="シャツ")
    import stepmail_plugin

    def queries_for_one_enrollment(email):
        with CaptureQueriesContext(connection) as ctx:
            stepmail_plugin.enroll(email, "order_placed", obj=order)
        return len(ctx)

    with_rules(make_sequence("A", steps=ONE), filter_products=[shirt], filter_categories=[shirts],
               filter_customer="first", filter_min_total=D("1"))
    # What is loaded once and kept (the usage-days attribute, content types) is loaded first, so
    # that both counts are of an enrollment alone, whichever tests ran before.
    queries_for_one_enrollment("warm@example.jp")
    one = queries_for_one_enrollment("a@example.jp")
    for n in range(6):
        with_rules(make_sequence(f"S{n}", steps=ONE), filter_products=[shirt], filter_categories=[shirts],
                   filter_customer="first", filter_min_total=D("1"))
    seven = queries_for_one_enrollment("b@example.jp")
    assert Enrollment.objects.filter(contact__email="b@example.jp").count() == 7
    assert seven == one
