"""Names that cross process boundaries: topics, event types, roles, statuses.

Defined once here so a typo is an ImportError, not a silently empty topic.
"""

# Topics ------------------------------------------------------------------------------
SUBMISSIONS_TOPIC = "intake.submissions"
ENGAGEMENTS_TOPIC = "outcomes.engagements"
PARTICIPANTS_TOPIC = "outcomes.participants"
CONTRIBUTIONS_TOPIC = "outcomes.contributions"
DECISIONS_TOPIC = "outcomes.decisions"
NOTIFICATIONS_TOPIC = "outcomes.notifications"

DLQ_SUFFIX = ".dlq"


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


# Every topic some service consumes has a dead-letter topic beside it.
CONSUMED_TOPICS = (
    SUBMISSIONS_TOPIC,
    ENGAGEMENTS_TOPIC,
    PARTICIPANTS_TOPIC,
    CONTRIBUTIONS_TOPIC,
    DECISIONS_TOPIC,
    NOTIFICATIONS_TOPIC,
)
ALL_TOPICS = CONSUMED_TOPICS + tuple(dlq_topic(topic) for topic in CONSUMED_TOPICS)

# Event types -------------------------------------------------------------------------
CONTRIBUTION_SUBMITTED = "contribution.submitted"
ENGAGEMENT_CREATED = "engagement.created"
ENGAGEMENT_UPDATED = "engagement.updated"  # edited or closed: the whole engagement as it now is
PARTICIPANT_REGISTERED = "participant.registered"
PARTICIPANT_UPDATED = "participant.updated"
PARTICIPANT_ERASED = "participant.erased"
CONTRIBUTION_RECEIVED = "contribution.received"
DECISION_RECORDED = "decision.recorded"
DECISION_AMENDED = "decision.amended"
CONTRIBUTION_LINKED = "contribution.linked"
CONTRIBUTION_UNLINKED = "contribution.unlinked"
RESOURCE_CHANGED = "resource.changed"
CONTRIBUTION_FEEDBACK_OVERDUE = "contribution.feedback_overdue"
NOTIFICATION_SENT = "notification.sent"
NOTIFICATION_DELIVERED = "notification.delivered"
NOTIFICATION_FAILED = "notification.failed"
NOTIFICATION_WITHHELD = "notification.withheld"
NOTIFICATION_HELD = "notification.held"  # a letter waiting for next month's letter budget
NOTIFICATION_EVENT_FOR_STATUS = {
    "sent": NOTIFICATION_SENT,
    "delivered": NOTIFICATION_DELIVERED,
    "failed": NOTIFICATION_FAILED,
    "withheld": NOTIFICATION_WITHHELD,
    "held": NOTIFICATION_HELD,
}
OUTCOME_RATED = "outcome.rated"
# A participant's answer to "Did this make a difference?"; the same on the page and by SMS
# (a reply of 1, 2 or 3, in this order).
RATINGS = ("yes", "partly", "no")
RATING_BY_WEB, RATING_BY_SMS = "web", "sms"
RATING_CHANNELS = (RATING_BY_WEB, RATING_BY_SMS)
RATING_COMMENT_MAX = 1_000
DEAD_LETTERED = "event.dead_lettered"

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"

# Who may say what, where -----------------------------------------------------------------
# Each topic carries these event types and no others: a consumer applies an event only when
# its (topic, type) pair is here, so an internal event forged on the case systems' topic is
# a dead letter, never a change.
TOPIC_EVENT_TYPES: dict[str, frozenset[str]] = {
    SUBMISSIONS_TOPIC: frozenset({CONTRIBUTION_SUBMITTED}),
    ENGAGEMENTS_TOPIC: frozenset({ENGAGEMENT_CREATED, ENGAGEMENT_UPDATED}),
    PARTICIPANTS_TOPIC: frozenset({PARTICIPANT_REGISTERED, PARTICIPANT_UPDATED, PARTICIPANT_ERASED}),
    CONTRIBUTIONS_TOPIC: frozenset({CONTRIBUTION_RECEIVED}),
    DECISIONS_TOPIC: frozenset(
        {
            DECISION_RECORDED,
            DECISION_AMENDED,
            CONTRIBUTION_LINKED,
            CONTRIBUTION_UNLINKED,
            RESOURCE_CHANGED,
            CONTRIBUTION_FEEDBACK_OVERDUE,
            OUTCOME_RATED,  # rated on the status page
        }
    ),
    NOTIFICATIONS_TOPIC: frozenset({*NOTIFICATION_EVENT_FOR_STATUS.values(), OUTCOME_RATED}),  # rated by SMS reply
}


def service_source(service: str) -> str:
    """The CloudEvents `source` of everything a service of ours announces."""
    return f"urn:outcome-chain:{service}"


# The one service whose `source` an internal topic accepts. A topic not listed here
# (intake.submissions) is written by councils' case systems: each tenant registers the
# sources its case systems send as (`outcomes sources add`, POST /v1/sources).
TOPIC_PUBLISHERS: dict[str, str] = {
    ENGAGEMENTS_TOPIC: service_source("intake"),
    PARTICIPANTS_TOPIC: service_source("intake"),
    CONTRIBUTIONS_TOPIC: service_source("intake"),
    DECISIONS_TOPIC: service_source("decisions"),
    NOTIFICATIONS_TOPIC: service_source("notifier"),
}
SOURCE_NOT_REGISTERED = "source not registered for this tenant"
# A case system's CloudEvents `source`: a URI-reference (printable ASCII, no spaces).
SOURCE_URI_PATTERN = r"^[\x21-\x7e]{1,1024}$"
SOURCE_URI_MAX = 1024

# Roles -------------------------------------------------------------------------------
ROLE_CASE_SYSTEM = "case-system"
ROLE_BOARD = "board"
ROLE_STAFF = "staff"
ROLE_ADMIN = "admin"
ROLES = (ROLE_CASE_SYSTEM, ROLE_BOARD, ROLE_STAFF, ROLE_ADMIN)

# Audit log -----------------------------------------------------------------------------
AUDIT_READ = "read"
AUDIT_CREATE = "create"
AUDIT_UPDATE = "update"
AUDIT_DELETE = "delete"
AUDIT_ACTIONS = (AUDIT_READ, AUDIT_CREATE, AUDIT_UPDATE, AUDIT_DELETE)

# Contributions -----------------------------------------------------------------------
CONTRIBUTION_TYPES = ("view", "recommendation", "complaint", "compliment", "question")
CONTRIBUTION_CHANNELS = ("web", "case_system", "meeting", "paper", "phone", "email", "sms", "letter", "visit")
# How staff record a contribution on someone's behalf in the workspace.
WORKSPACE_CHANNELS = ("phone", "letter", "meeting", "visit")
CONTRIBUTION_RECEIVED_STATUS = "received"
CONTRIBUTION_STATUSES = (
    "received",
    "under_consideration",
    "decided",
    "implemented",
    "closed",
    "overdue",
)
CONTRIBUTION_TEXT_MAX = 10_000
# Who sent a contribution through intake's public "have your say" form (no key, no account).
SUBMITTED_BY_PUBLIC_FORM = "public-form"

# Decisions ---------------------------------------------------------------------------
OUTCOMES = ("adopted", "partly_adopted", "not_adopted", "deferred", "out_of_scope")
OUTCOME_ADOPTED = "adopted"
OUTCOME_DEFERRED = "deferred"
OUTCOME_OUT_OF_SCOPE = "out_of_scope"
SCOPE_LIMIT_KINDS = ("cannot_change", "remit")
RESOURCE_KINDS = ("budget", "staffing", "service", "policy")
RESOURCE_STATUSES = ("planned", "in_progress", "implemented", "cancelled")
LINK_PENDING = "pending"
LINK_CONFIRMED = "confirmed"
LINK_UNRESOLVED = "unresolved"
INFLUENCE_MAX = 2_000
LINKS_PER_REQUEST_MAX = 10_000

# Notifications -----------------------------------------------------------------------
MESSAGE_ACKNOWLEDGEMENT = "acknowledgement"
MESSAGE_DECISION_LINKED = "decision_linked"
MESSAGE_DECISION_AMENDED = "decision_amended"
MESSAGE_UNLINKED = "unlinked"
MESSAGE_RESOURCE_CHANGED = "resource_changed"
MESSAGE_INTERIM_UPDATE = "interim_update"
MESSAGE_KINDS = (
    MESSAGE_ACKNOWLEDGEMENT,
    MESSAGE_DECISION_LINKED,
    MESSAGE_DECISION_AMENDED,
    MESSAGE_UNLINKED,
    MESSAGE_RESOURCE_CHANGED,
    MESSAGE_INTERIM_UPDATE,
)
# A notification's life: created -> sending -> sent -> delivered | failed; or withheld
# (no consent, no channel, erased, unsubscribed), which the outcome chain shows too.
STATUS_CREATED = "created"
STATUS_SENDING = "sending"
# An attempt row `early:<status>` keeps a provider's receipt that beat our own record of the send.
EARLY_RECEIPT_PREFIX = "early:"
STATUS_SENT = "sent"
STATUS_DELIVERED = "delivered"
STATUS_FAILED = "failed"
STATUS_WITHHELD = "withheld"
# Announced, not stored: a letter over its tenant's monthly budget stays queued (`created`)
# until the next month, and the outcome chain hears it is held meanwhile.
STATUS_HELD = "held"
NOTIFICATION_STATUSES = (STATUS_CREATED, STATUS_SENDING, STATUS_SENT, STATUS_DELIVERED, STATUS_FAILED, STATUS_WITHHELD)
# How far a message's announced status has got: a read model moves it forward only, whatever
# order its events arrive in (a "sent" arriving after its "delivered" does not undo it).
MESSAGE_STATUS_RANK = {STATUS_HELD: 0, STATUS_WITHHELD: 1, STATUS_SENT: 1, STATUS_DELIVERED: 2, STATUS_FAILED: 2}
# A participant has been told the outcome once one of these has been delivered.
OUTCOME_MESSAGE_KINDS = (MESSAGE_DECISION_LINKED, MESSAGE_DECISION_AMENDED, MESSAGE_RESOURCE_CHANGED)

# Participants ------------------------------------------------------------------------
CHANNEL_EMAIL, CHANNEL_SMS, CHANNEL_POST, CHANNEL_NONE = "email", "sms", "post", "none"
CONTACT_CHANNELS = (CHANNEL_EMAIL, CHANNEL_SMS, CHANNEL_POST, CHANNEL_NONE)
SENDING_CHANNELS = (CHANNEL_EMAIL, CHANNEL_SMS, CHANNEL_POST)  # the ones a message goes by
MESSAGE_FORMATS = ("standard", "easy_read", "large_print")
LANGUAGE_TAG_PATTERN = r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$"  # BCP 47 primary tag (+ region)
LANGUAGE_TAG_MAX = 8  # the longest tag the pattern allows
# What a contribution's text reads once its author has been erased: the contribution,
# its dates, type and counts stay in the chain, the words and the person do not.
ERASED_TEXT = "participant erased"

# Dead letters ------------------------------------------------------------------------
DEAD_LETTER_OPEN = "open"
DEAD_LETTER_REPLAYED = "replayed"

# Limits ------------------------------------------------------------------------------
MAX_BODY_BYTES = 64 * 1024
ID_MAX = 36  # a UUID; the longest id a client may send
BULK_MAX_BODY_BYTES = 4 * 1024 * 1024  # a decision linking up to LINKS_PER_REQUEST_MAX contributions
# The request line's target (path and query) and each header field (name and value), in
# bytes: over these the services answer 414 and 431 as problem+json. Gunicorn is set to let
# through more (8,190 and 16,384; deploy/gunicorn.conf.py), so it is the app that answers.
MAX_REQUEST_TARGET_BYTES = 4096
MAX_HEADER_FIELD_BYTES = 8190
# Where the web app leaves the route a request matched (its template, e.g.
# /v1/contributions/<contribution_id>) for gunicorn's access log (shared/http/access_log.py).
ACCESS_LOG_ROUTE_KEY = "outcome_chain.route"

# ISO 4217 currency codes in use (amounts in resource changes name one of these).
CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SOS SRD SSP STN SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES
    VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()
)
