"""Readable labels for the reason codes recorded on deliveries and enrollments.

The codes stay short strings in the database (`Delivery.reason`, `Enrollment.exit_reason`) because
host projects' triggers and ESPs add their own (`esp_422`, `smtp_550`, a trigger's exit reason);
this module turns the known ones into words for the admin and the reports and leaves the others
readable as they are.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

#: Every code the plugin itself writes, with its label.
LABELS: dict[str, Promise] = {
    # sending
    "invalid_address": _("Invalid address"),
    "rejected": _("Rejected by the email service"),
    "esp_refused": _("Refused by the email service"),
    "esp_no_answer": _("No answer from the email service"),
    "send_error": _("Sending failed"),
    "esp_error": _("Sending failed"),
    "not_sent": _("The mail backend sent nothing"),
    "configuration": _("Email settings are wrong"),
    "render_error": _("The step could not be rendered"),
    # suppression and consent
    "unsubscribed": pgettext_lazy("reason", "Unsubscribed"),
    "bounced": pgettext_lazy("reason", "Hard bounce"),
    "complained": pgettext_lazy("reason", "Spam complaint"),
    "manual": _("Suppressed by staff"),
    # the sequence and its steps
    "step_deleted": _("The step was deleted"),
    "step_unpublished": _("The step is not published"),
    "last_step": _("Finished after the last step"),
    "condition_not_met": _("The step's condition was not met"),
    "no_supply_info": _("No supply information for a refill reminder"),
    "stale": _("Too late to send"),
    "frequency_cap": _("Frequency cap"),
    "send_window": _("Waiting for the send window"),
    # what the customer or the shop did
    "purchased": _("Bought something"),
    "order_cancelled": _("Order cancelled"),
    "basket_closed": _("Basket ordered or closed"),
    "erased": _("Personal data erased"),
    "cancelled_by_staff": _("Cancelled by staff"),
    "requeued_by_staff": _("Put back in the queue by staff"),
    "moved": _("Moved to another sequence"),
    "backfill_past": _("Its moment had passed when enrolled afterwards"),
    # measurement
    "holdout": _("In the holdout group (gets no mail)"),
}

_PREFIXES: dict[str, Promise] = {
    "esp_": _("Email service error %(code)s"),
    "smtp_": _("SMTP error %(code)s"),
}


def reason_label(code: str) -> str:
    """The label of a reason code; unknown codes (a host project's own) are shown as they are."""
    if not code:
        return ""
    if code in LABELS:
        return str(LABELS[code])
    if code.startswith("enrollment_"):
        from .models import EnrollmentStatus

        status = code.removeprefix("enrollment_")
        if status in EnrollmentStatus.values:
            return str(_("Enrollment: %(status)s") % {"status": EnrollmentStatus(status).label})
    for prefix, label in _PREFIXES.items():
        status = code.removeprefix(prefix)
        if code.startswith(prefix) and status.isdigit():
            return str(label % {"code": status})
    return code


def outcome_label(key: str) -> str:
    """``"failed: invalid_address"`` (a status and a reason, as the reports group them) in words."""
    from .models import DeliveryStatus, EnrollmentStatus

    status, sep, code = key.partition(": ")
    if not sep:
        return reason_label(key)
    for choices in (DeliveryStatus, EnrollmentStatus):
        if status in choices.values:
            status = str(choices(status).label)
            break
    return f"{status}: {reason_label(code) if code != '—' else code}"
