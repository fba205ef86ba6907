"""Builders for editors in the Wagtail admin and for posting the page edit form."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from wagtail.models import GroupPagePermission
from wagtail.test.utils.form_data import (
    nested_form_data,
    querydict_from_html,
    streamfield,
)


def superuser(email="admin@shop.example.jp"):
    return get_user_model().objects.create_superuser(
        username="admin", email=email, password="x", first_name="編集", last_name="担当"
    )


def editor(page, email="editor@shop.example.jp", *, extra=(), username="editor"):
    """A Wagtail editor who may add, edit and publish pages under ``page`` (and nothing else)."""
    group, _ = Group.objects.get_or_create(name=f"Editors {page.pk}")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    for codename in ("add_page", "change_page", "publish_page"):
        GroupPagePermission.objects.get_or_create(
            group=group, page=page,
            permission=Permission.objects.get(content_type__app_label="wagtailcore", codename=codename),
        )
    for perm in extra:
        app_label, codename = perm.split(".")
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    user = get_user_model().objects.create_user(username=username, email=email, password="x", first_name="編集")
    user.groups.add(group)
    return user


def edit_form_data(client, page, body, **fields):
    """The page edit form as the browser would post it, with ``body`` blocks and ``fields`` changed."""
    response = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    data = querydict_from_html(response.content.decode(), form_id="page-edit-form").dict()
    data = {k: v for k, v in data.items() if not k.startswith("body-")}
    lists = {}
    for index, (kind, value) in enumerate(body):
        for name, item in list(value.items()):
            if isinstance(item, list):
                lists[f"body-{index}-value-{name}"] = item
                value.pop(name)
    data.update(nested_form_data({"body": streamfield(body)}))
    data.update(lists)
    data.update({k: str(v) for k, v in fields.items()})
    return data
