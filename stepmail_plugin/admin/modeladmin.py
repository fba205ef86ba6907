"""The "Step mail" menu of the Wagtail admin, through wagtail-modeladmin.

This is the only module that imports wagtail-modeladmin (in maintenance mode upstream): listings,
filters and inspect pages are declared here; staff actions are plain views in ``views`` wired to
URLs here. Moving to Wagtail's own viewsets means rewriting this module only.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import re_path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail_modeladmin.helpers import AdminURLHelper, ButtonHelper, PermissionHelper
from wagtail_modeladmin.options import ModelAdmin, ModelAdminGroup
from wagtail_modeladmin.views import CreateView, IndexView, InspectView

from ..models import (
    ConsentStatus,
    Contact,
    Delivery,
    Enrollment,
    EnrollmentStatus,
    StepEmailPage,
    Suppression,
    SuppressionReason,
)
from ..reasons import reason_label
from ..triggers.registry import registry
from . import views
from ..flow import RUNNING_STATUSES
from .actions import (
    ATTENTION_STATUSES,
    REQUEUEABLE_STATUSES,
    needs_attention,
    unsubscribe_known_contacts,
)
from .forms import SuppressionForm


def register_log_actions(actions):
    """For the ``register_log_actions`` hook: staff actions shown in an object's history."""
    actions.register_action(views.LOG_PAUSE, _("Pause enrollment"), _("Enrollment paused"))
    actions.register_action(views.LOG_RESUME, _("Resume enrollment"), _("Enrollment resumed"))
    actions.register_action(
        views.LOG_CANCEL, _("Cancel enrollment"), _("Enrollment cancelled by staff")
    )
    actions.register_action(
        views.LOG_ENROLL, _("Enroll by hand"), _("Enrolled by staff")
    )
    actions.register_action(
        views.LOG_REQUEUE, _("Requeue delivery"), _("Delivery requeued by staff")
    )


def admin_url(model, action: str, pk=None) -> str:
    helper = AdminURLHelper(model)
    return helper.get_action_url(action) if pk is None else helper.get_action_url(action, quote(pk))


# -- permissions --------------------------------------------------------------------------------
class ReadOnlyPermissionHelper(PermissionHelper):
    """List and inspect only: records written by the plugin are changed through staff actions."""

    def user_can_create(self, user):
        return False

    def user_can_edit_obj(self, user, obj):
        return False

    def user_can_delete_obj(self, user, obj):
        return False


class AddDeletePermissionHelper(PermissionHelper):
    """Suppressions are added and removed, never edited."""

    def user_can_edit_obj(self, user, obj):
        return False


class StepMailModelAdmin(ModelAdmin):
    """Adds ``extra_urls()``: ``(action, view, per_object)`` served next to modeladmin's own."""

    def extra_urls(self):
        return []

    def get_admin_urls_for_registration(self):
        urls = super().get_admin_urls_for_registration()
        helper = self.url_helper
        for action, view, per_object in self.extra_urls():
            pattern = (
                helper.get_action_url_pattern(action)
                if per_object
                else rf"^{helper.base_url_path}/{action}/$"
            )
            urls += (re_path(pattern, view, name=helper.get_action_url_name(action)),)
        return urls


# -- filters ------------------------------------------------------------------------------------
def _suppressed(*reasons, global_only=False):
    condition = Q(email=OuterRef("email"), reason__in=reasons)
    if global_only:
        condition &= Q(sequence__isnull=True)
    return Exists(Suppression.objects.filter(condition))


class MailStateFilter(admin.SimpleListFilter):
    title = _("opt-out state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("receiving", _("Can receive marketing mail")),
            ("unsubscribed", _("Unsubscribed")),
            ("bounced", _("Hard bounce")),
            ("complained", _("Spam complaint")),
            ("manual", _("Suppressed by staff")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        unsubscribed = Q(unsubscribed_at__isnull=False) | Q(
            _suppressed(SuppressionReason.UNSUBSCRIBED, global_only=True)
        )
        bounced = Q(bounced_at__isnull=False) | Q(_suppressed(SuppressionReason.BOUNCED))
        complained = Q(complained_at__isnull=False) | Q(_suppressed(SuppressionReason.COMPLAINED))
        manual = Q(_suppressed(SuppressionReason.MANUAL, global_only=True))
        if value == "unsubscribed":
            return queryset.filter(unsubscribed)
        if value == "bounced":
            return queryset.filter(bounced)
        if value == "complained":
            return queryset.filter(complained)
        if value == "manual":
            return queryset.filter(manual)
        if value == "receiving":
            return queryset.exclude(unsubscribed | bounced | complained | manual).exclude(
                consent=ConsentStatus.OPTED_OUT
            )
        return queryset


class TriggerFilter(admin.SimpleListFilter):
    title = pgettext_lazy("stepmail", "trigger")
    parameter_name = "trigger"

    def lookups(self, request, model_admin):
        return [(trigger.key, trigger.label) for trigger in registry.all()]

    def queryset(self, request, queryset):
        return queryset.filter(trigger=self.value()) if self.value() else queryset


class DeliveryReasonFilter(admin.SimpleListFilter):
    """The reasons recorded so far (free-form codes written by the dispatcher and by staff)."""

    title = pgettext_lazy("stepmail", "reason")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        reasons = (
            Delivery.objects.exclude(reason="")
            .order_by("reason")
            .values_list("reason", flat=True)
            .distinct()
        )
        return [(reason, reason_label(reason)) for reason in reasons]

    def queryset(self, request, queryset):
        return queryset.filter(reason=self.value()) if self.value() else queryset


class StepFilter(admin.SimpleListFilter):
    """Deliveries of one step (the sequence timeline links here with ``?step=<id>``).

    Shown only once a step is chosen, with the other steps of its sequence as "sequence › step":
    listing every step of every sequence would bury the other filters.
    """

    title = pgettext_lazy("stepmail", "step")
    parameter_name = "step"

    def lookups(self, request, model_admin):
        value = self.value() or ""
        step = StepEmailPage.objects.filter(pk=value).first() if value.isdigit() else None
        if step is None:
            return []
        sequence = step.get_parent()
        return [
            (str(sibling.pk), f"{sequence.title} › {sibling.title}")
            for sibling in StepEmailPage.objects.sibling_of(step).order_by("path").only("pk", "title")
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(step_id=int(value))
        return queryset


class AttentionFilter(admin.SimpleListFilter):
    """Failed and uncertain deliveries together: what staff should look at (dashboard link)."""

    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            ("recent", _("Failed in the last 7 days, or uncertain")),
            ("yes", _("Failed or uncertain")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "recent":
            return queryset.filter(needs_attention(timezone.now()))
        if self.value() == "yes":
            return queryset.filter(status__in=ATTENTION_STATUSES)
        return queryset


# -- contacts -----------------------------------------------------------------------------------
class ContactInspectView(InspectView):
    def get_context_data(self, **kwargs):
        history = views.contact_history(self.instance)
        for enrollment in history["enrollments"]:
            enrollment.admin_url = admin_url(Enrollment, "inspect", enrollment.pk)
            enrollment.trigger_label = views.trigger_label(enrollment.trigger)
        for delivery in history["deliveries"]:
            delivery.admin_url = admin_url(Delivery, "inspect", delivery.pk)
        if self.request.user.has_perm(views.perm_name(Enrollment, "add")):
            kwargs["enroll_url"] = (
                admin_url(Enrollment, "enroll") + f"?contact={quote(self.instance.pk)}"
            )
        return super().get_context_data(**history, **kwargs)


class ContactAdmin(StepMailModelAdmin):
    model = Contact
    menu_label = _("Contacts")
    menu_icon = "group"
    permission_helper_class = ReadOnlyPermissionHelper
    list_display = ("email", "name", "consent", "mail_state", "created_at")
    list_filter = ("consent", MailStateFilter)
    search_fields = ("email", "first_name", "last_name")
    ordering = ("-created_at", "-pk")
    inspect_view_enabled = True
    inspect_view_class = ContactInspectView
    inspect_template_name = "stepmail/admin/contact_inspect.html"
    inspect_view_fields = (
        "email",
        "user",
        "first_name",
        "last_name",
        "language",
        "timezone",
        "birthday",
        "consent",
        "consent_source",
        "consent_at",
        "unsubscribed_at",
        "bounced_at",
        "complained_at",
        "created_at",
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(suppressed_globally=_suppressed(*SuppressionReason.values, global_only=True))
        )

    @admin.display(description=pgettext_lazy("stepmail", "name"), ordering="last_name")
    def name(self, obj):
        return obj.full_name

    @admin.display(description=_("opt-out state"))
    def mail_state(self, obj):
        states = []
        if obj.unsubscribed_at:
            states.append(_("Unsubscribed"))
        if obj.bounced_at:
            states.append(_("Hard bounce"))
        if obj.complained_at:
            states.append(_("Spam complaint"))
        if not states and getattr(obj, "suppressed_globally", False):
            states.append(_("On the suppression list"))
        return ", ".join(str(state) for state in states)


# -- enrollments --------------------------------------------------------------------------------
class EnrollmentIndexView(IndexView):
    def get_context_data(self, **kwargs):
        if self.request.user.has_perm(views.perm_name(Enrollment, "add")):
            kwargs["enroll_url"] = self.url_helper.get_action_url("enroll")
        return super().get_context_data(**kwargs)


class EnrollmentInspectView(InspectView):
    def get_page_subtitle(self):
        return views.enrollment_label(self.instance)

    def get_field_display_value(self, field_name, field=None):
        if field_name == "trigger":
            return views.trigger_label(self.instance.trigger)
        return super().get_field_display_value(field_name, field)

    def get_context_data(self, **kwargs):
        history = views.enrollment_history(self.instance)
        for delivery in history["deliveries"]:
            delivery.admin_url = admin_url(Delivery, "inspect", delivery.pk)
        can_change = self.request.user.has_perm(views.perm_name(Enrollment, "change"))
        status = self.instance.status
        enrollment_actions = []
        if can_change and status == EnrollmentStatus.ACTIVE:
            enrollment_actions.append(("pause", _("Pause"), "button button-secondary", ""))
        if can_change and status == EnrollmentStatus.PAUSED:
            enrollment_actions.append(("resume", _("Resume"), "button", ""))
        if can_change and status in RUNNING_STATUSES:
            # The one action that cannot be undone asks first.
            enrollment_actions.append(("cancel", _("Cancel enrollment"), "button no",
                                       _("Cancel this enrollment and its scheduled mails? This cannot be undone.")))
        return super().get_context_data(
            **history,
            contact_url=admin_url(Contact, "inspect", self.instance.contact_id),
            enrollment_actions=[
                {
                    "url": self.url_helper.get_action_url(name, self.pk_quoted),
                    "label": label,
                    "classname": css,
                    "confirm": confirm,
                }
                for name, label, css, confirm in enrollment_actions
            ],
            **kwargs,
        )


class EnrollmentAdmin(StepMailModelAdmin):
    model = Enrollment
    menu_label = _("Enrollments")
    menu_icon = "list-ul"
    permission_helper_class = ReadOnlyPermissionHelper
    list_display = (
        "contact",
        "sequence_title",
        "trigger_label",
        "anchor_at",
        "status",
        "exit_reason_label",
    )
    list_filter = ("status", TriggerFilter, "sequence")
    list_select_related = ("contact", "sequence")
    search_fields = ("contact__email",)
    ordering = ("-created_at", "-pk")
    index_view_class = EnrollmentIndexView
    index_template_name = "stepmail/admin/enrollment_index.html"
    inspect_view_enabled = True
    inspect_view_class = EnrollmentInspectView
    inspect_template_name = "stepmail/admin/enrollment_inspect.html"
    inspect_view_fields = (
        "contact",
        "sequence",
        "trigger",
        "key",
        "anchor_at",
        "status",
        "exit_reason_label",
        "context",
        "created_at",
        "ended_at",
    )

    @admin.display(description=pgettext_lazy("stepmail", "sequence"), ordering="sequence__title")
    def sequence_title(self, obj):
        return obj.sequence.title

    @admin.display(description=pgettext_lazy("stepmail", "trigger"), ordering="trigger")
    def trigger_label(self, obj):
        return views.trigger_label(obj.trigger)

    def extra_urls(self):
        def back(enrollment):
            return self.url_helper.get_action_url("inspect", quote(enrollment.pk))

        return [
            (name, views.EnrollmentActionView.as_view(action=name, return_url=back), True)
            for name in ("pause", "resume", "cancel")
        ] + [
            (
                "enroll",
                views.HandEnrollView.as_view(
                    index_url=lambda: self.url_helper.index_url, inspect_url=back
                ),
                False,
            )
        ]


# -- deliveries ---------------------------------------------------------------------------------
class DeliveryButtonHelper(ButtonHelper):
    def requeue_button(self, obj, classnames_add=None):
        return {
            "url": self.url_helper.get_action_url("requeue", quote(obj.pk)),
            "label": _("Requeue…"),
            "classname": self.finalise_classname(["button-secondary"] + (classnames_add or [])),
            "title": _("Put this delivery back in the queue"),
        }

    def get_buttons_for_obj(self, obj, exclude=None, classnames_add=None, classnames_exclude=None):
        buttons = super().get_buttons_for_obj(obj, exclude, classnames_add, classnames_exclude)
        if (
            "requeue" not in (exclude or [])
            and obj.status in REQUEUEABLE_STATUSES
            and self.request.user.has_perm(views.perm_name(Delivery, "change"))
        ):
            buttons.append(self.requeue_button(obj, classnames_add))
        return buttons


class DeliveryInspectView(InspectView):
    def get_page_subtitle(self):
        delivery = self.instance
        step = delivery.step.title if delivery.step_id else _("(deleted step)")
        return f"{delivery.enrollment.contact.email} — {step}"

    def get_field_display_value(self, field_name, field=None):
        if field_name == "enrollment":
            return views.enrollment_label(self.instance.enrollment)
        return super().get_field_display_value(field_name, field)

    def get_context_data(self, **kwargs):
        enrollment = self.instance.enrollment
        return super().get_context_data(
            enrollment_url=admin_url(Enrollment, "inspect", enrollment.pk),
            contact_url=admin_url(Contact, "inspect", enrollment.contact_id),
            **kwargs,
        )


class DeliveryAdmin(StepMailModelAdmin):
    model = Delivery
    menu_label = _("Deliveries")
    menu_icon = "mail"
    permission_helper_class = ReadOnlyPermissionHelper
    button_helper_class = DeliveryButtonHelper
    list_display = (
        "contact_email",
        "step_title",
        "status",
        "due_at",
        "sent_at",
        "attempts",
        "reason_label",
        "esp_message_id",
    )
    list_filter = ("status", AttentionFilter, DeliveryReasonFilter, StepFilter)
    list_select_related = ("enrollment__contact", "step")
    search_fields = ("enrollment__contact__email", "to_email", "esp_message_id")
    ordering = ("-due_at", "-pk")
    inspect_view_enabled = True
    inspect_view_class = DeliveryInspectView
    inspect_template_name = "stepmail/admin/delivery_inspect.html"
    inspect_view_fields = (
        "enrollment",
        "step",
        "status",
        "due_at",
        "sent_at",
        "attempts",
        "subject",
        "to_email",
        "esp_message_id",
        "esp_status",
        "reason_label",
        "error",
        "created_at",
        "updated_at",
    )

    @admin.display(
        description=pgettext_lazy("stepmail", "contact"), ordering="enrollment__contact__email"
    )
    def contact_email(self, obj):
        return obj.enrollment.contact.email

    @admin.display(description=pgettext_lazy("stepmail", "step"), ordering="step__title")
    def step_title(self, obj):
        return obj.step.title if obj.step_id else _("(deleted step)")

    def extra_urls(self):
        def back(delivery):
            return self.url_helper.get_action_url("inspect", quote(delivery.pk))

        return [("requeue", views.DeliveryRequeueView.as_view(return_url=back), True)]


# -- suppressions -------------------------------------------------------------------------------
class SuppressionIndexView(IndexView):
    def get_context_data(self, **kwargs):
        if self.request.user.has_perm(views.perm_name(Suppression, "add")):
            kwargs["import_url"] = self.url_helper.get_action_url("import")
        return super().get_context_data(**kwargs)


class SuppressionCreateView(CreateView):
    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            suppression = self.instance
            if suppression.reason == SuppressionReason.UNSUBSCRIBED and not suppression.sequence_id:
                # Same effect as the customer's own unsubscribe: the contact is marked and its
                # running marketing enrollments end now rather than at their next send.
                unsubscribe_known_contacts([suppression.email], source=suppression.source)
        return response

    def get_success_message_buttons(self, instance):
        return []  # suppressions are not edited


class SuppressionAdmin(StepMailModelAdmin):
    model = Suppression
    menu_label = _("Suppressions")
    menu_icon = "no-view"
    permission_helper_class = AddDeletePermissionHelper
    list_display = ("email", "scope", "reason", "source", "created_at")
    list_filter = ("reason",)
    list_select_related = ("sequence",)
    search_fields = ("email",)
    ordering = ("-created_at", "-pk")
    index_view_class = SuppressionIndexView
    create_view_class = SuppressionCreateView
    index_template_name = "stepmail/admin/suppression_index.html"
    edit_handler = ObjectList(
        [FieldPanel("email"), FieldPanel("reason"), FieldPanel("sequence"), FieldPanel("source")],
        base_form_class=SuppressionForm,
    )

    @admin.display(description=_("applies to"), ordering="sequence__title")
    def scope(self, obj):
        return obj.sequence.title if obj.sequence_id else _("All marketing step mail")

    def extra_urls(self):
        return [
            (
                "import",
                views.SuppressionImportView.as_view(index_url=lambda: self.url_helper.index_url),
                False,
            )
        ]


class StepMailAdminGroup(ModelAdminGroup):
    menu_label = _("Step mail")
    menu_icon = "mail"
    menu_order = 250
    items = (ContactAdmin, EnrollmentAdmin, DeliveryAdmin, SuppressionAdmin)
