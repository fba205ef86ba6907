"""Settings for stepmail_plugin, read from the ``STEPMAIL`` dict at call time.

Every key and its default is documented in ``docs/settings.md``. Reading at call time (not import
time) lets tests use ``override_settings(STEPMAIL=...)``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    # Sender address of step mails; falls back to DEFAULT_FROM_EMAIL.
    "FROM_EMAIL": None,
    # Absolute base URL for links in mails (unsubscribe, images). Falls back to the default
    # Wagtail Site's root_url.
    "BASE_URL": None,
    # Deliveries claimed per batch by one worker.
    "BATCH_SIZE": 100,
    # One dispatch tick stops claiming new batches after this many seconds (keep it below
    # Q_CLUSTER["timeout"]).
    "TICK_SECONDS": 50,
    # A claimed batch not sent within this many seconds is released to other workers.
    "LEASE_SECONDS": 300,
    # Transient send errors are retried this many times, with exponential backoff.
    "MAX_ATTEMPTS": 6,
    "RETRY_BACKOFF_SECONDS": 60,
    "RETRY_BACKOFF_MAX_SECONDS": 6 * 60 * 60,
    # Follow-up work an order leaves for the next tick (purchase exits, attribution) that fails
    # is retried this many times in all, waiting FOLLOW_UP_RETRY_SECONDS, doubling (at most
    # RETRY_BACKOFF_MAX_SECONDS); then it is kept as failed and shown on the dashboard.
    "FOLLOW_UP_MAX_ATTEMPTS": 5,
    "FOLLOW_UP_RETRY_SECONDS": 60,
    # A user registering counts as opting in to marketing mail (record the source).
    "REGISTRATION_IS_CONSENT": True,
    # Name of the django-q2 schedules created by ``stepmail_setup``.
    "SCHEDULE_PREFIX": "stepmail",
    # Merge-field values used when a field is empty and the editor gave no default.
    "SHOP_NAME": None,
    # Brand and legal details in every mail's footer: sender_name, postal_address, contact,
    # logo_url, button_color. 特定電子メール法 requires the sender's name, address and contact in
    # marketing mail.
    "BRAND": {},
    # Email backend used for step mails (None: EMAIL_BACKEND).
    "EMAIL_BACKEND": None,
    # Dotted paths of extra trigger classes to register (see docs/triggers.md).
    "TRIGGERS": [],
    # Enrollment keeps each trigger's live sequences and first steps in memory between calls;
    # page events clear it through a generation stamp in this Django cache. With a cache shared by
    # all processes a change is seen at once; with a per-process cache after LIVE_CACHE_SECONDS
    # at most. 0 turns the cache off (see docs/performance.md).
    "LIVE_CACHE_SECONDS": 60,
    "LIVE_CACHE_ALIAS": "default",
    # The dispatcher keeps catalogue data (products, prices, stock, pictures, recommendations,
    # best sellers) between batches for at most this many seconds; any product or stock change
    # clears it (in other processes through LIVE_CACHE_ALIAS when that cache is shared). 0: off.
    "CATALOGUE_CACHE_SECONDS": 60,
    # Own click tracking (signed redirects) and open pixel, for backends without ESP tracking.
    # None: on when the step-mail backend is not an anymail ESP (e.g. plain SMTP). See docs/metrics.md.
    "TRACK_CLICKS": None,
    "TRACK_OPENS": None,
    # UTM parameters added to links to the shop's own site ({sequence}, {step} and {variant} are
    # replaced by slugs); {} turns them off. Links that already carry a utm_* parameter keep theirs.
    "UTM_PARAMS": {
        "utm_source": "stepmail",
        "utm_medium": "email",
        "utm_campaign": "{sequence}",
        "utm_content": "{step}{variant}",
    },
    # Hosts that get UTM parameters (None: the host of BASE_URL).
    "UTM_DOMAINS": None,
    # An order is credited to the latest mail clicked within this many days before it, or else
    # opened within ATTRIBUTION_OPEN_DAYS; a redeemed voucher from a mail always wins.
    "ATTRIBUTION_CLICK_DAYS": 5,
    "ATTRIBUTION_OPEN_DAYS": 1,
    # Orders within this many days after entering a sequence count as its outcome when mailed and
    # held-out people are compared (holdout uplift).
    "OUTCOME_WINDOW_DAYS": 30,
    # A/B tests: a winner needs this many sends per variant and this probability to be best.
    "AB_MIN_SAMPLE": 100,
    "AB_CONFIDENCE": 0.95,
    # Best sellers in product blocks count sales over this many days (see docs/blocks.md).
    "BESTSELLER_DAYS": 90,
    # Expired coupons that were never used are deleted this many days after they expire.
    "VOUCHER_CLEANUP_AFTER_DAYS": 30,
    # Subject length above which the editor is warned (phones cut longer subjects).
    "SUBJECT_WARNING_LENGTH": 40,
    # Mail HTML size above which the editor is warned: Gmail clips messages over 102 KB.
    "HTML_WARNING_BYTES": 102 * 1024,
    # -- timing (docs/timing.md) ---------------------------------------------------------------
    # Time zone of contacts without their own (None: the site's TIME_ZONE). Send windows,
    # birthdays and anniversaries are reckoned in it.
    "TIME_ZONE": None,
    # Frequency cap across marketing sequences: (mails, hours) pairs, e.g. [(1, 24), (3, 168)]
    # for at most one mail a day and three a week. Empty: no cap. A capped mail is delayed, never
    # silently dropped.
    "FREQUENCY_CAPS": [],
    # A mail the cap would delay longer than this (hours after its moment) is skipped and
    # recorded with reason "frequency_cap".
    "FREQUENCY_CAP_MAX_DELAY_HOURS": 72,
    # Default staleness limit (hours) for sequences without their own: a mail that could not go
    # out this long after its moment is skipped ("stale"). None: never stale.
    "STALE_AFTER_HOURS": None,
    # -- triggers (docs/triggers.md) -----------------------------------------------------------
    # Oscar order statuses that count as shipped (order_shipped), unless a sequence names its own.
    "SHIPPED_ORDER_STATUSES": ["Shipped"],
    # Codes of Oscar shipping event types that count as shipped.
    "SHIPPING_EVENT_CODES": ["shipped"],
    # Oscar order statuses that end the enrollments the order started (reason "order_cancelled").
    "CANCELLED_ORDER_STATUSES": ["Cancelled", "Refunded"],
    # Default thresholds of sequences that leave theirs empty.
    "BASKET_IDLE_HOURS": 3,
    "BROWSE_WAIT_HOURS": 24,
    "DORMANT_DAYS": 90,
    # Signed-in product views are recorded at most once per user and product per this many seconds.
    "BROWSE_DEBOUNCE_SECONDS": 30 * 60,
    # Scans look this far back past the threshold, so downtime is caught up but old history is
    # not mailed when a sequence is first published.
    "SCAN_LOOKBACK_DAYS": 7,
    # Birthday and anniversary scans catch up this many days of missed dates.
    "DATE_SCAN_LOOKBACK_DAYS": 3,
    # Dotted path of a callable giving birthdays kept outside Contact.birthday:
    # f(month_days: set[tuple[int, int]]) -> iterable of (user | email | Contact, date).
    "BIRTHDAY_SOURCE": None,
    # Where 29 February birthdays and anniversaries fall in other years: "02-28" or "03-01".
    "LEAP_DAY_FALLBACK": "02-28",
    # Code of the Oscar product attribute giving how many days one unit lasts (refill reminders).
    "USAGE_DAYS_ATTRIBUTE": "usage_days",
    # Keep a send journal per batch on local disk, so a worker killed mid-chunk is settled
    # exactly instead of leaving its chunk "uncertain" (see docs/guarantees.md).
    "SEND_JOURNAL": True,
    # Folder of the send journals; None: a folder in the system's temp dir named after the database.
    "JOURNAL_DIR": None,
    # PostgreSQL: write each chunk's record from a thread with its own connection while the next
    # chunk is rendered, and claim the next batch there while a batch's last chunk is sent
    # (also: a batch's first move to "sending", and its last record while the next batch loads)
    # (record_writer.py, dispatch.ClaimAhead); a worker holds one more connection during a tick.
    "RECORD_IN_BACKGROUND": True,
    # Seconds: Python's thread switch interval while that thread works (sys.setswitchinterval;
    # Python's own is 0.005), so it gets the interpreter back soon after the database answered
    # instead of waiting for the rendering thread's turn to end. None: leave Python's.
    "RECORD_SWITCH_INTERVAL": 0.001,
    # How long signed links stay valid, in seconds per purpose (None: no expiry). Unsubscribe
    # links keep working: the law expects them to, in any mail the customer kept; so do click
    # redirects (a link in an old mail still leads to the shop).
    "TOKEN_MAX_AGE": {
        "unsubscribe": None,
        "track": None,
        "preferences": 365 * 24 * 3600,
        "web_version": 180 * 24 * 3600,
        "survey": 60 * 24 * 3600,
    },
    # Delivery records older than this many days lose their personal details (address, subject,
    # error text); those of finished enrollments are deleted. None keeps them forever.
    "DELIVERY_RETENTION_DAYS": None,
}


class StepmailSettings:
    """Attribute access to the ``STEPMAIL`` dict with defaults, read at call time."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown stepmail setting {name!r}")
        user = getattr(django_settings, "STEPMAIL", {}) or {}
        if not isinstance(user, dict):
            raise ImproperlyConfigured("STEPMAIL must be a dict")
        return user.get(name, DEFAULTS[name])


stepmail_settings = StepmailSettings()
