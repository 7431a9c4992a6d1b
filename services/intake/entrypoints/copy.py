"""The words on intake's pages, in English and Welsh, keyed by message id.

Keys are prefixed by page (`dashboard.*` the staff dashboard). Plain English: short
sentences, everyday words. The Welsh says the same; a Welsh speaker should review it
before it goes live.
"""

from shared.i18n import Messages, copy_plural, copy_text

# The English; the Welsh is in shared/i18n/locale/cy/LC_MESSAGES/messages.po (README
# "For translators"): `make messages` after any change here.
COPY = Messages(
    copy_text("dashboard.title", "Are we closing the loop?"),
    copy_text(
        "dashboard.intro",
        "How many people heard back about their views, how fast, and whose views lead to change.",
    ),
    copy_text("dashboard.filters", "Choose what to count"),
    copy_text("dashboard.engagement", "Engagement"),
    copy_text("dashboard.all_engagements", "All engagements"),
    copy_text("dashboard.service_area", "Service area"),
    copy_text("dashboard.all_service_areas", "All service areas"),
    copy_text("dashboard.from", "Received from"),
    copy_text("dashboard.to", "Received up to"),
    copy_text("dashboard.date_hint", "For example, 2027-03-31. Leave empty for no limit."),
    copy_text("dashboard.show", "Show the numbers"),
    copy_text("dashboard.error.engagement", "Choose an engagement from the list"),
    copy_text("dashboard.error.service_area", "Choose a service area from the list"),
    copy_text("dashboard.error.from", "Enter the start date as a real date, for example 2027-03-31"),
    copy_text("dashboard.error.to", "Enter the end date as a real date on or after the start date"),
    copy_text("dashboard.none", "There are no contributions to count for what you chose."),
    copy_text("dashboard.coverage", "Feedback coverage"),
    # Translators: The title of a bar chart: the share of all the contributions counted.
    copy_plural("dashboard.coverage.chart", "Share of {count} contribution", "Share of {count} contributions"),
    copy_text("dashboard.with_decision", "Have a decision"),
    copy_text("dashboard.with_feedback", "Person told the outcome"),
    copy_text("dashboard.rated", "Person said if it made a difference"),
    copy_text(
        "dashboard.told_means",
        "Told the outcome means an update about the decision was sent or delivered. The first message saying we got "
        "their views does not count.",
    ),
    copy_text("dashboard.count_of", "{count} of {total}"),
    copy_text("dashboard.speed", "How long it takes"),
    copy_text("dashboard.days_to_decision", "Median days from getting a view to the first decision"),
    copy_text("dashboard.days_to_feedback", "Median days from getting a view to telling the person the outcome"),
    # Translators: A median number of days; it can be a fraction (2.5 days), which takes the 'other' form.
    copy_plural("dashboard.days", "{count} day", "{count} days"),
    copy_text("dashboard.no_data", "Not yet known"),
    copy_text("dashboard.overdue", "Overdue: no decision by the feedback date"),
    # Translators: The number of contributions with no decision by their feedback date (never 0: the page says so
    # instead).
    copy_plural("dashboard.overdue.count", "{count} contribution is overdue.", "{count} contributions are overdue."),
    copy_text("dashboard.overdue.none", "No contributions are overdue."),
    # Translators: Follows the overdue count when only some overdue contributions are listed: how many are.
    copy_plural(
        "dashboard.overdue.listed",
        "The {count} that has waited longest is listed.",
        "The {count} that have waited longest are listed.",
    ),
    copy_text("dashboard.overdue.caption", "Overdue contributions, longest wait first"),
    copy_text("dashboard.reference", "Reference"),
    copy_text("dashboard.feedback_due", "Feedback due"),
    copy_text("dashboard.days_overdue", "Days overdue"),
    copy_text("dashboard.by_type", "Outcomes by type of contribution"),
    copy_text("dashboard.by_type.caption", "Number of contributions by type and the outcome of their latest decision"),
    copy_text("dashboard.type", "Type"),
    copy_text("dashboard.equality", "Whose views lead to change"),
    copy_text(
        "dashboard.equality.intro",
        "People can choose to answer equality questions. This compares each group with everyone.",
    ),
    copy_text(
        "dashboard.equality.suppressed",
        "To protect people, groups of fewer than 5 people are not shown. Some other numbers are hidden too, so a "
        "hidden number cannot be worked out.",
    ),
    copy_text("dashboard.equality.none", "Nobody in these contributions answered the equality questions."),
    copy_text("dashboard.equality.chart", "{question}: share with a decision"),
    copy_text("dashboard.equality.caption", "{question}: each group beside everyone"),
    copy_text("dashboard.group", "Group"),
    copy_text("dashboard.people", "People"),
    copy_text("dashboard.contributions", "Contributions"),
    copy_text("dashboard.participation_rate", "Share of all contributions"),
    copy_text("dashboard.decision_rate", "Share with a decision"),
    copy_text("dashboard.difference_rate", "Said it made a difference"),
    copy_text(
        "dashboard.difference_means",
        "Said it made a difference means they answered yes or partly, out of those who answered.",
    ),
    copy_text("dashboard.everyone", "Everyone"),
    copy_text("dashboard.fewer_than_5", "fewer than 5"),
    copy_text("dashboard.5_or_more", "5 or more"),
    copy_text("dashboard.withheld", "hidden"),
    copy_text("dashboard.not_answered", "Did not answer"),
    copy_text("dashboard.percent", "{value}%"),
    copy_text("outcome.adopted", "Adopted"),
    copy_text("outcome.partly_adopted", "Partly adopted"),
    copy_text("outcome.not_adopted", "Not adopted"),
    copy_text("outcome.deferred", "Deferred"),
    copy_text("outcome.out_of_scope", "Out of scope"),
    copy_text("outcome.none yet", "No decision yet"),
    copy_text("type.view", "View"),
    copy_text("type.recommendation", "Recommendation"),
    copy_text("type.complaint", "Complaint"),
    copy_text("type.compliment", "Compliment"),
    copy_text("type.question", "Question"),
    copy_text("question.age_band", "Age"),
    copy_text("question.disability", "Disability"),
    copy_text("question.ethnicity", "Ethnicity"),
    copy_text("question.sex", "Sex"),
    copy_text("question.gender_identity", "Gender identity"),
    copy_text("question.sexual_orientation", "Sexual orientation"),
    copy_text("question.religion_or_belief", "Religion or belief"),
    copy_text("question.marriage_or_civil_partnership", "Marriage or civil partnership"),
    copy_text("question.pregnancy_or_maternity", "Pregnancy or maternity"),
    copy_text("question.carer", "Caring for someone"),
)
