"""Records of who is in which sequence and what was sent to them."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..reasons import reason_label


def normalize_email(email: str) -> str:
    """The form we store and compare addresses in: stripped and lower-cased."""
    return (email or "").strip().lower()


class ConsentStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    OPTED_IN = "opted_in", _("Opted in")
    OPTED_OUT = "opted_out", _("Opted out")


class Contact(models.Model):
    """One person we may mail, one row per email address."""

    email = models.EmailField(_("email address"), max_length=254, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stepmail_contacts",
        help_text=_("The shop account of this address, if there is one."),
    )
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"), max_length=10, blank=True, help_text=_("Language code, e.g. ja or en.")
    )
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("IANA time zone such as Asia/Tokyo; empty means the site's time zone."),
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    consent = models.CharField(
        _("marketing consent"),
        max_length=16,
        choices=ConsentStatus.choices,
        default=ConsentStatus.UNKNOWN,
    )
    consent_source = models.CharField(
        _("consent source"),
        max_length=100,
        blank=True,
        help_text=_("Where the consent was given, e.g. registration or a form."),
    )
    consent_at = models.DateTimeField(_("consent recorded at"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)
    bounced_at = models.DateTimeField(_("hard bounce at"), null=True, blank=True)
    complained_at = models.DateTimeField(_("complaint at"), null=True, blank=True)
    created_at = models.DateTimeField(pgettext_lazy("stepmail", "created at"), default=now, editable=False)

    #: Wagtail's reference index has nothing to show for contacts; skipping it saves every
    #: contact save (each new customer at checkout) a query and two savepoints.
    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name) if p) if self.language == "ja" \
            else " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def can_receive_marketing(self) -> bool:
        return not (self.unsubscribed_at or self.bounced_at or self.complained_at) and (
            self.consent != ConsentStatus.OPTED_OUT
        )

    @property
    def can_receive_transactional(self) -> bool:
        return not (self.bounced_at or self.complained_at)


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Hard bounce")
    COMPLAINED = "complained", _("Spam complaint")
    MANUAL = "manual", _("Added by staff")


class Suppression(models.Model):
    """An address that must not receive (some) step mail.

    ``sequence`` empty means every marketing sequence; bounces and complaints also stop
    transactional mail.
    """

    email = models.EmailField(_("email address"), max_length=254, db_index=True)
    sequence = models.ForeignKey(
        "stepmail.SequencePage",
        verbose_name=_("sequence"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="suppressions",
        help_text=_("Leave empty to stop all marketing step mail."),
    )
    reason = models.CharField(_("reason"), max_length=16, choices=SuppressionReason.choices)
    source = models.CharField(_("source"), max_length=100, blank=True)
    created_at = models.DateTimeField(pgettext_lazy("stepmail", "created at"), default=now)

    class Meta:
        verbose_name = _("suppression")
        verbose_name_plural = _("suppressions")
        constraints = [
            models.UniqueConstraint(
                fields=["email", "sequence", "reason"], name="stepmail_suppression_unique"
            ),
            models.UniqueConstraint(
                fields=["email", "reason"],
                condition=Q(sequence__isnull=True),
                name="stepmail_suppression_unique_global",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_reason_display()})"

    @property
    def stops_transactional(self) -> bool:
        return self.reason in (SuppressionReason.BOUNCED, SuppressionReason.COMPLAINED)


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("stepmail", "Active")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    EXITED = "exited", _("Exited")
    CANCELLED = "cancelled", _("Cancelled")


class Enrollment(models.Model):
    """A contact going through one sequence, on a clock that starts at ``anchor_at``."""

    # No index of its own: the unique (sequence, contact, key) constraint leads with it. Every
    # index is written for each enrollment checkout inserts (migration 0013).
    sequence = models.ForeignKey(
        "stepmail.SequencePage",
        verbose_name=_("sequence"),
        on_delete=models.CASCADE,
        related_name="enrollments",
        db_index=False,
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="enrollments"
    )
    trigger = models.CharField(_("trigger"), max_length=64)
    # What makes this enrollment unique within (sequence, contact): "order.order:<pk>" for
    # per-object triggers (one journey per order), "" for once-per-contact ones.
    key = models.CharField(_("de-duplication key"), max_length=128, blank=True)
    object_type = models.ForeignKey(  # indexed with object_id in Meta
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    object_id = models.CharField(max_length=64, blank=True)
    trigger_object = GenericForeignKey("object_type", "object_id")
    anchor_at = models.DateTimeField(
        _("anchor time"), help_text=_("When the trigger happened; step delays count from here.")
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=EnrollmentStatus.choices,
        default=EnrollmentStatus.ACTIVE,
    )  # indexed in Meta (compared whole: no pattern index beside it)
    exit_reason = models.CharField(_("exit reason"), max_length=64, blank=True)
    holdout = models.BooleanField(
        _("held out"),
        default=False,
        help_text=_("In the sequence's holdout group: receives nothing, measured for comparison."),
    )
    context = models.JSONField(
        _("extra merge values"),
        default=dict,
        blank=True,
        help_text=_("Plain values passed to enroll(); available to the mail's merge fields."),
    )
    created_at = models.DateTimeField(_("enrolled at"), default=now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    paused_at = models.DateTimeField(
        _("paused at"), null=True, blank=True, help_text=_("Resuming shifts the remaining steps by the pause.")
    )
    supply_days = models.PositiveIntegerField(
        _("supply (days)"),
        null=True,
        blank=True,
        help_text=_("How long the bought consumable lasts (usage days × quantity), for refill reminders."),
    )

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "contact", "key"], name="stepmail_enrollment_unique"
            )
        ]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="stepmail_enr_obj"),
            models.Index(fields=["status"], name="stepmail_enrollment_status"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} → {self.sequence.title}"

    @admin.display(description=_("exit reason"), ordering="exit_reason")
    def exit_reason_label(self) -> str:
        """The exit reason in words (see :mod:`stepmail_plugin.reasons`)."""
        return reason_label(self.exit_reason)


class DeliveryStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CLAIMED = "claimed", _("Claimed by a worker")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")
    # The worker died between handing the message to the ESP and recording it: it may or may
    # not have gone out, so it is never resent automatically (see docs/guarantees.md).
    UNCERTAIN = "uncertain", _("Uncertain (worker stopped while sending)")


#: Statuses after which a delivery never changes again by itself.
FINAL_DELIVERY_STATUSES = (
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.SKIPPED,
    DeliveryStatus.CANCELLED,
)


class Delivery(models.Model):
    """One step for one enrollment: the unit of sending, at most one per (enrollment, step)."""

    # No index of its own: the unique (enrollment, step) constraint leads with it. Every index
    # is written again each time a delivery changes state (three times per mail sent).
    enrollment = models.ForeignKey(
        Enrollment, verbose_name=_("enrollment"), on_delete=models.CASCADE, related_name="deliveries",
        db_index=False,
    )
    step = models.ForeignKey(
        "stepmail.StepEmailPage",
        verbose_name=_("step"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    # The step's tree path when scheduled: the position to continue from if the step page is
    # deleted before it is sent.
    step_path = models.CharField(max_length=255)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.SCHEDULED,
    )
    due_at = models.DateTimeField(_("due at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    subject = models.CharField(_("subject as sent"), max_length=255, blank=True)
    to_email = models.EmailField(_("sent to"), max_length=254, blank=True)
    esp_message_id = models.CharField(_("ESP message id"), max_length=255, blank=True)  # indexed in Meta
    esp_status = models.CharField(_("ESP status"), max_length=32, blank=True)
    reason = models.CharField(
        _("reason"), max_length=64, blank=True, help_text=_("Why it was skipped or failed.")
    )
    error = models.TextField(_("last error"), blank=True)
    # Tracking (first open and first click; see docs/metrics.md) and the A/B variant sent.
    opened_at = models.DateTimeField(_("first opened at"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("first clicked at"), null=True, blank=True)
    variant = models.ForeignKey(
        "stepmail.StepVariant",
        verbose_name=_("A/B variant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        help_text=_("Empty: the step's own content (variant A)."),
        db_index=False,  # indexed in Meta, where it is set
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_at = models.DateTimeField(pgettext_lazy("stepmail", "created at"), default=now)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step"], name="stepmail_delivery_unique")
        ]
        indexes = [
            # The dispatcher's scan: what is due now.
            models.Index(fields=["status", "due_at"], name="stepmail_delivery_due"),
            # Lease recovery: what has been claimed since when.
            models.Index(fields=["status", "claimed_at"], name="stepmail_delivery_claimed"),
            # Tracking events find their delivery by the ESP's message id (always compared whole:
            # no pattern index beside it, as a CharField's db_index would add on PostgreSQL).
            models.Index(fields=["esp_message_id"], name="stepmail_delivery_esp_id"),
            # Most deliveries have no A/B variant: only those that have one are indexed.
            models.Index(fields=["variant"], name="stepmail_delivery_variant",
                         condition=models.Q(variant__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id}/{self.step_id}: {self.status}"

    @admin.display(description=_("reason"), ordering="reason")
    def reason_label(self) -> str:
        """Why it was skipped, failed or cancelled, in words (see :mod:`stepmail_plugin.reasons`)."""
        return reason_label(self.reason)


class FollowUp(models.Model):
    """Work an event leaves for the next dispatcher tick instead of doing it on the spot.

    Checkout only enrolls the customer; what can wait a minute — ending sequences the purchase
    stops, crediting the order to a mail — is queued here in the enrollment's own transaction and
    done by the next tick (``followups.py``). A mail due meanwhile is still stopped: purchases are
    checked again at send time.
    """

    kind = models.CharField(_("kind"), max_length=32)
    object_id = models.CharField(pgettext_lazy("stepmail", "object id"), max_length=64)
    created_at = models.DateTimeField(pgettext_lazy("stepmail", "created at"), default=now)
    # A failed attempt is retried later (FOLLOW_UP_MAX_ATTEMPTS); after the last one due_at is
    # cleared and failed_at set, and the row stays for staff to see. The tick's "anything to do?"
    # looks at due_at only (indexed).
    due_at = models.DateTimeField(_("due at"), null=True, blank=True, default=now, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("last error"), blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id}"
