from .pages import DelayUnit, SequenceIndexPage, SequenceKind, SequencePage, StepEmailPage
from .records import (
    FINAL_DELIVERY_STATUSES,
    ConsentStatus,
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    Suppression,
    SuppressionReason,
    normalize_email,
)

__all__ = [
    "FINAL_DELIVERY_STATUSES",
    "ConsentStatus",
    "Contact",
    "DelayUnit",
    "Delivery",
    "DeliveryStatus",
    "Enrollment",
    "EnrollmentStatus",
    "SequenceIndexPage",
    "SequenceKind",
    "SequencePage",
    "StepEmailPage",
    "Suppression",
    "SuppressionReason",
    "normalize_email",
]
