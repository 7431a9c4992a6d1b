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


ALL_TOPICS = (
    SUBMISSIONS_TOPIC,
    dlq_topic(SUBMISSIONS_TOPIC),
    ENGAGEMENTS_TOPIC,
    PARTICIPANTS_TOPIC,
    CONTRIBUTIONS_TOPIC,
    DECISIONS_TOPIC,
    NOTIFICATIONS_TOPIC,
)

# Event types -------------------------------------------------------------------------
CONTRIBUTION_SUBMITTED = "contribution.submitted"
ENGAGEMENT_CREATED = "engagement.created"
PARTICIPANT_REGISTERED = "participant.registered"
PARTICIPANT_UPDATED = "participant.updated"
CONTRIBUTION_RECEIVED = "contribution.received"
DEAD_LETTERED = "event.dead_lettered"

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"

# Roles -------------------------------------------------------------------------------
ROLE_CASE_SYSTEM = "case-system"
ROLE_BOARD = "board"
ROLE_STAFF = "staff"
ROLE_ADMIN = "admin"
ROLES = (ROLE_CASE_SYSTEM, ROLE_BOARD, ROLE_STAFF, ROLE_ADMIN)

# Contributions -----------------------------------------------------------------------
CONTRIBUTION_TYPES = ("view", "recommendation", "complaint", "compliment", "question")
CONTRIBUTION_CHANNELS = ("web", "case_system", "meeting", "paper", "phone", "email", "sms")
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

# Participants ------------------------------------------------------------------------
CONTACT_CHANNELS = ("email", "sms", "none")
MESSAGE_FORMATS = ("standard", "easy_read", "large_print")
LANGUAGE_TAG_PATTERN = r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$"  # BCP 47 primary tag (+ region)

# Dead letters ------------------------------------------------------------------------
DEAD_LETTER_OPEN = "open"
DEAD_LETTER_REPLAYED = "replayed"

# Limits ------------------------------------------------------------------------------
MAX_BODY_BYTES = 64 * 1024
