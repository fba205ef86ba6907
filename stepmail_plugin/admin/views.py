"""Staff actions in the Wagtail admin, as plain Django views.

Nothing here knows wagtail-modeladmin: ``modeladmin`` wires these views to URLs and passes the
URLs to return to. Each view checks its model permission itself and answers 403 without it.
"""

from __future__ import annotations

from django.contrib.auth import get_permission_codename
from django.db.models import Model
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext, ngettext
from django.views.generic import FormView, TemplateView, View
from wagtail.admin import messages
from wagtail.log_actions import log

from .. import flow
from ..models import Contact, Delivery, Enrollment, EnrollmentStatus, Suppression
from ..triggers.registry import registry
from . import actions
from .forms import HandEnrollForm, SuppressionImportForm

# Log actions recorded in the object's history (registered in wagtail_hooks).
LOG_PAUSE = "stepmail.enrollment.pause"
LOG_RESUME = "stepmail.enrollment.resume"
LOG_CANCEL = "stepmail.enrollment.cancel"
LOG_ENROLL = "stepmail.enrollment.enroll_by_hand"
LOG_REQUEUE = "stepmail.delivery.requeue"


def perm_name(model: type[Model], action: str) -> str:
    """``"stepmail.change_enrollment"`` for ``(Enrollment, "change")``."""
    return f"{model._meta.app_label}.{get_permission_codename(action, model._meta)}"


def forbidden(request):
    return render(request, "stepmail/admin/forbidden.html", status=403)


def trigger_label(key: str) -> str:
    try:
        return str(registry.get(key).label)
    except LookupError:
        return key


def enrollment_label(enrollment: Enrollment) -> str:
    return f"{enrollment.contact.email} — {enrollment.sequence.title}"


# -- what the inspect pages show ----------------------------------------------------------------
def contact_history(contact: Contact) -> dict:
    """A contact's enrollments, every delivery newest first, and the suppressions of the address."""
    return {
        "enrollments": list(
            contact.enrollments.select_related("sequence").order_by("-created_at", "-pk")
        ),
        "deliveries": list(
            Delivery.objects.filter(enrollment__contact=contact)
            .select_related("enrollment__sequence", "step")
            .order_by(Coalesce("sent_at", "due_at").desc(), "-pk")
        ),
        "suppressions": list(
            Suppression.objects.filter(email=contact.email)
            .select_related("sequence")
            .order_by("-created_at")
        ),
    }


def enrollment_history(enrollment: Enrollment) -> dict:
    return {
        "deliveries": list(
            enrollment.deliveries.select_related("step").order_by(
                Coalesce("sent_at", "due_at").desc(), "-pk"
            )
        ),
        "trigger_label": trigger_label(enrollment.trigger),
    }


class StaffPermissionMixin:
    """403 unless the user has ``<app>.<permission>_<model>``."""

    model: type[Model]
    permission = "change"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(perm_name(self.model, self.permission)):
            return forbidden(request)
        return super().dispatch(request, *args, **kwargs)


# -- enrollments --------------------------------------------------------------------------------
class EnrollmentActionView(StaffPermissionMixin, View):
    """POST only: pause, resume or cancel one enrollment (through :mod:`stepmail_plugin.flow`),
    record it in the enrollment's history, then go to ``return_url(enrollment)``."""

    model = Enrollment
    permission = "change"
    http_method_names = ["post"]
    action: str = ""
    return_url = None

    def post(self, request, instance_pk):
        enrollment = get_object_or_404(
            Enrollment.objects.select_related("contact", "sequence"), pk=instance_pk
        )
        label = enrollment_label(enrollment)
        # flow locks the enrollment and changes it only from the expected status; comparing the
        # status before and after tells whether this click did it.
        before = enrollment.status
        if self.action == "pause":
            after = flow.pause_enrollment(enrollment).status
            if before == EnrollmentStatus.ACTIVE and after == EnrollmentStatus.PAUSED:
                log(instance=enrollment, action=LOG_PAUSE)
                messages.success(
                    request,
                    gettext("Paused “%(enrollment)s”: its mail waits until you resume it.")
                    % {"enrollment": label},
                )
            else:
                messages.warning(
                    request, gettext("Nothing changed: only an active enrollment can be paused.")
                )
        elif self.action == "resume":
            after = flow.resume_enrollment(enrollment).status
            if before == EnrollmentStatus.PAUSED and after == EnrollmentStatus.ACTIVE:
                log(instance=enrollment, action=LOG_RESUME)
                messages.success(
                    request,
                    gettext(
                        "Resumed “%(enrollment)s”: mail that fell due meanwhile goes out "
                        "with the next dispatch."
                    )
                    % {"enrollment": label},
                )
            else:
                messages.warning(
                    request, gettext("Nothing changed: only a paused enrollment can be resumed.")
                )
        elif self.action == "cancel":
            cancelled = flow.cancel_enrollment(enrollment)
            if cancelled is None:
                messages.warning(
                    request, gettext("Nothing changed: the enrollment had already ended.")
                )
            else:
                log(instance=enrollment, action=LOG_CANCEL)
                messages.success(
                    request,
                    ngettext(
                        "Cancelled “%(enrollment)s” and %(count)d scheduled mail.",
                        "Cancelled “%(enrollment)s” and %(count)d scheduled mails.",
                        cancelled,
                    )
                    % {"enrollment": label, "count": cancelled},
                )
        else:  # pragma: no cover - wiring error
            raise ValueError(f"Unknown enrollment action {self.action!r}")
        return redirect(self.return_url(enrollment))


class HandEnrollView(StaffPermissionMixin, FormView):
    """Enroll one person in a published sequence by hand (``add_enrollment`` permission).

    Goes through the same entry rules as every trigger (:func:`actions.enroll_by_hand`); a
    refusal is shown with its reason and the form keeps what was typed.
    """

    model = Enrollment
    permission = "add"
    form_class = HandEnrollForm
    template_name = "stepmail/admin/enrollment_enroll.html"
    index_url = None
    inspect_url = None
    header_icon = "list-ul"

    def get_initial(self):
        initial = super().get_initial()
        contact_id = self.request.GET.get("contact", "")
        # Only someone who may see contacts gets an address filled in from a contact's id.
        if contact_id.isdigit() and self.request.user.has_perm(perm_name(Contact, "view")):
            contact = Contact.objects.filter(pk=contact_id).first()
            if contact is not None:
                initial["email"] = contact.email
        sequence_id = self.request.GET.get("sequence", "")
        if sequence_id.isdigit():
            initial["sequence"] = sequence_id
        return initial

    def get_context_data(self, **kwargs):
        kwargs.setdefault("index_url", self.index_url())
        kwargs.setdefault("header_icon", self.header_icon)
        return super().get_context_data(**kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        user = self.request.user
        result = actions.enroll_by_hand(
            data["sequence"],
            data["email"],
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            record_consent=data.get("consent", False),
            source=f"admin:{user.get_username()}",
        )
        if result.enrollment is None:
            messages.error(self.request, result.refusal)
            return self.render_to_response(self.get_context_data(form=form))
        enrollment = result.enrollment
        log(instance=enrollment, action=LOG_ENROLL)
        values = {"email": enrollment.contact.email, "sequence": enrollment.sequence.title}
        if result.held_out:
            messages.warning(
                self.request,
                gettext(
                    "%(email)s entered “%(sequence)s” in its holdout group: they receive none of "
                    "its mails and are counted for comparison."
                )
                % values,
            )
        else:
            messages.success(
                self.request,
                gettext(
                    "%(email)s entered “%(sequence)s”: the first mail goes out when it is due."
                )
                % values,
            )
        return redirect(self.inspect_url(enrollment))


# -- deliveries ---------------------------------------------------------------------------------
class DeliveryRequeueView(StaffPermissionMixin, TemplateView):
    """GET: what requeueing means, and a confirmation form. POST: requeue."""

    model = Delivery
    permission = "change"
    template_name = "stepmail/admin/delivery_requeue.html"
    return_url = None
    header_icon = "mail"

    def get_delivery(self, instance_pk) -> Delivery:
        return get_object_or_404(
            Delivery.objects.select_related("enrollment__contact", "enrollment__sequence", "step"),
            pk=instance_pk,
        )

    def get(self, request, instance_pk):
        delivery = self.get_delivery(instance_pk)
        return self.render_to_response(
            self.get_context_data(
                delivery=delivery,
                refusal=actions.requeue_refusal(delivery),
                back_url=self.return_url(delivery),
                header_icon=self.header_icon,
            )
        )

    def post(self, request, instance_pk):
        delivery = self.get_delivery(instance_pk)
        if actions.requeue_delivery(delivery):
            log(instance=delivery, action=LOG_REQUEUE)
            messages.success(
                request,
                gettext("Requeued the mail to %(email)s: it goes out with the next dispatch.")
                % {"email": delivery.enrollment.contact.email},
            )
        else:
            delivery.refresh_from_db()
            messages.error(
                request,
                actions.requeue_refusal(delivery)
                or gettext("Nothing changed: the delivery changed meanwhile."),
            )
        return redirect(self.return_url(delivery))


# -- suppressions -------------------------------------------------------------------------------
class SuppressionImportView(StaffPermissionMixin, FormView):
    """Upload a CSV file of addresses; show what was imported and which lines were invalid."""

    model = Suppression
    permission = "add"
    form_class = SuppressionImportForm
    template_name = "stepmail/admin/suppression_import.html"
    index_url = None
    header_icon = "no-view"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("index_url", self.index_url())
        kwargs.setdefault("header_icon", self.header_icon)
        return super().get_context_data(**kwargs)

    def form_valid(self, form):
        report = actions.import_suppressions(
            actions.read_email_column(form.cleaned_data["text"]),
            reason=form.cleaned_data["reason"],
            source=f"admin-import:{self.request.user.get_username()}",
        )
        summary = ngettext(
            "%(created)d address added to the suppression list.",
            "%(created)d addresses added to the suppression list.",
            len(report.created),
        ) % {"created": len(report.created)}
        if report.invalid:
            messages.warning(
                self.request,
                summary
                + " "
                + ngettext(
                    "%(invalid)d line was not a valid address and was not imported.",
                    "%(invalid)d lines were not valid addresses and were not imported.",
                    len(report.invalid),
                )
                % {"invalid": len(report.invalid)},
            )
        else:
            messages.success(self.request, summary)
        return self.render_to_response(
            self.get_context_data(
                form=self.form_class(initial={"reason": form.cleaned_data["reason"]}), report=report
            )
        )
