from .commerce import DiscountType, IssuedVoucher, VoucherTemplate
from .activity import ProductView
from .pages import DelayUnit, SequenceIndexPage, SequenceKind, SequencePage, StepEmailPage
from .records import (
    FINAL_DELIVERY_STATUSES,
    ConsentStatus,
    Contact,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    FollowUp,
    Suppression,
    SuppressionReason,
    normalize_email,
)
from .fields import ABMetric
from .tracking import (
    ABDecision,
    AttributionMethod,
    Conversion,
    DeliveryEvent,
    EnrollmentOrder,
    EventSource,
    EventType,
    StepVariant,
    TrackedLinkSet,
)
from .settings import StepmailBrandSettings
from .surveys import SurveyFormField, SurveyPage, SurveySubmission

__all__ = [
    "ABDecision",
    "ABMetric",
    "AttributionMethod",
    "Conversion",
    "DeliveryEvent",
    "EnrollmentOrder",
    "FollowUp",
    "EventSource",
    "EventType",
    "StepVariant",
    "TrackedLinkSet",
    "FINAL_DELIVERY_STATUSES",
    "ConsentStatus",
    "Contact",
    "DelayUnit",
    "Delivery",
    "DeliveryStatus",
    "DiscountType",
    "Enrollment",
    "EnrollmentStatus",
    "IssuedVoucher",
    "ProductView",
    "SequenceIndexPage",
    "SequenceKind",
    "SequencePage",
    "StepEmailPage",
    "StepmailBrandSettings",
    "Suppression",
    "SuppressionReason",
    "SurveyFormField",
    "SurveyPage",
    "SurveySubmission",
    "VoucherTemplate",
    "normalize_email",
]
