"""The words on intake's public pages (the "have your say" form and a council's list of
what it is asking), in English and Welsh, keyed by message id like `copy.py`.

A key ending `.easy` is the easy-read wording of the key without it: short sentences, one
idea each, everyday words. Pages in easy read use it where there is one. The answers to the
equality questions (`form.equality.<question>.<code>`) follow the ONS harmonised standards
and the Welsh of the 2021 Census; a Welsh speaker should review the rest before it goes live.
"""

from shared.http.i18n import Messages, copy_text

# The English; the Welsh is in shared/http/i18n/locale/cy/LC_MESSAGES/messages.po (README
# "For translators"): `make messages` after any change here.
PUBLIC_COPY = Messages(
    copy_text("engagements.title", "Have your say: {council}"),
    copy_text(
        "engagements.intro",
        "These are the questions {council} is asking now. Choose one to tell us what you think. You do not need an "
        "account.",
    ),
    copy_text(
        "engagements.intro.easy",
        "{council} wants to know what you think. Choose a question. You do not need to sign up.",
    ),
    copy_text("engagements.none", "{council} is not asking any questions right now. Please look again later."),
    copy_text("engagements.feedback_by", "We will say what happened by {date}."),
    copy_text("engagements.link_to_form", "Have your say on {title}"),
    copy_text("layout.show_easy_read", "Show this page in easy read"),
    copy_text("layout.show_standard", "Show this page in the standard layout"),
    copy_text("form.title", "Have your say"),
    copy_text("form.title.easy", "Tell us what you think"),
    copy_text("form.asking", "What we are asking"),
    copy_text("form.can_change", "What can change"),
    copy_text("form.can_change.easy", "What we can change"),
    copy_text("form.cannot_change", "What cannot change"),
    copy_text("form.cannot_change.easy", "What we cannot change"),
    copy_text("form.decider", "{decision_maker} will decide."),
    copy_text("form.feedback_due", "We will say what happened by {date}."),
    copy_text("form.feedback_due.easy", "We will tell you what happened by {date}."),
    copy_text("form.your_view", "Your view"),
    copy_text(
        "form.your_view.hint",
        "Tell us what you think, in your own words. Please do not include other people's personal details. Up to "
        "{max} characters.",
    ),
    copy_text("form.your_view.hint.easy", "Write what you think. Use your own words."),
    copy_text("form.name", "Your name (optional)"),
    copy_text("form.contact", "Do you want us to tell you what happened?"),
    copy_text("form.contact.easy", "Do you want us to tell you what we decided?"),
    copy_text("form.channel.email", "Yes, by email"),
    copy_text("form.channel.sms", "Yes, by text message"),
    copy_text("form.channel.post", "Yes, by letter"),
    copy_text("form.channel.none", "No, do not contact me"),
    copy_text("form.email", "Email address"),
    copy_text("form.phone", "Mobile phone number"),
    copy_text("form.phone.hint", "For example, 07700 900123"),
    copy_text("form.address_line_1", "Address line 1"),
    copy_text("form.address_line_1.easy", "House number and street"),
    copy_text("form.address_line_2", "Address line 2 (optional)"),
    copy_text("form.address_line_2.easy", "More of your address (you can leave this empty)"),
    copy_text("form.address_town", "Town or city"),
    copy_text("form.postcode", "Postcode"),
    copy_text("form.postcode.hint", "For example, SW1A 1AA"),
    copy_text(
        "form.consent",
        "I agree that {council} may use these details to tell me what happened to my view. They will not be used "
        "for anything else, and I can ask them to stop at any time.",
    ),
    copy_text("form.consent.easy", "Yes, you may contact me about my view. I can ask you to stop at any time."),
    copy_text("form.format", "How should we write to you?"),
    copy_text("form.format.standard", "Standard"),
    copy_text("form.format.easy_read", "Easy read: short sentences and simple words"),
    copy_text("form.format.large_print", "Large print"),
    copy_text("form.about_you", "About you (optional)"),
    copy_text(
        "form.about_you.intro",
        "These questions help us check that we hear from everyone. You do not have to answer them. Your answers are "
        "kept private, and we only count them in groups of 5 people or more.",
    ),
    copy_text(
        "form.about_you.intro.easy",
        "You do not have to answer these questions. They help us hear from everyone. We keep your answers private.",
    ),
    copy_text("form.equality.age_band", "What is your age?"),
    copy_text("form.equality.sex", "What is your sex?"),
    copy_text("form.equality.ethnicity", "What is your ethnic group?"),
    copy_text(
        "form.equality.disability",
        "Do you consider yourself to be disabled as defined by the Equality Act 2010?",
    ),
    copy_text(
        "form.equality.disability.hint",
        "The Act says you are disabled if you have a physical or mental impairment that has a substantial and "
        "long-term effect on your ability to do normal daily activities.",
    ),
    copy_text(
        "form.equality.carer",
        "Do you look after, or give any help or support to, anyone because they have long-term physical or mental "
        "health conditions or illnesses, or problems related to old age?",
    ),
    copy_text("form.equality.carer.hint", "Do not count anything you do as part of your paid job."),
    copy_text("form.equality.welsh_speaker", "Can you speak Welsh?"),
    copy_text("form.equality.age_band.under_16", "Under 16"),
    copy_text("form.equality.age_band.16_24", "16 to 24"),
    copy_text("form.equality.age_band.25_34", "25 to 34"),
    copy_text("form.equality.age_band.35_44", "35 to 44"),
    copy_text("form.equality.age_band.45_54", "45 to 54"),
    copy_text("form.equality.age_band.55_64", "55 to 64"),
    copy_text("form.equality.age_band.65_74", "65 to 74"),
    copy_text("form.equality.age_band.75_over", "75 and over"),
    copy_text("form.equality.sex.female", "Female"),
    copy_text("form.equality.sex.male", "Male"),
    copy_text("form.equality.ethnicity.asian", "Asian, Asian British or Asian Welsh"),
    copy_text("form.equality.ethnicity.black", "Black, Black British, Black Welsh, Caribbean or African"),
    copy_text("form.equality.ethnicity.mixed", "Mixed or Multiple ethnic groups"),
    copy_text("form.equality.ethnicity.white", "White"),
    copy_text("form.equality.ethnicity.other", "Other ethnic group"),
    copy_text("form.equality.disability.yes", "Yes"),
    copy_text("form.equality.disability.no", "No"),
    copy_text("form.equality.carer.no", "No"),
    copy_text("form.equality.carer.up_to_9", "Yes, 9 hours a week or less"),
    copy_text("form.equality.carer.10_19", "Yes, 10 to 19 hours a week"),
    copy_text("form.equality.carer.20_34", "Yes, 20 to 34 hours a week"),
    copy_text("form.equality.carer.35_49", "Yes, 35 to 49 hours a week"),
    copy_text("form.equality.carer.50_over", "Yes, 50 or more hours a week"),
    copy_text("form.equality.welsh_speaker.yes", "Yes"),
    copy_text("form.equality.welsh_speaker.no", "No"),
    copy_text("form.equality.prefer_not_to_say", "Prefer not to say"),
    copy_text("form.honeypot", "Leave this empty"),
    copy_text("form.send", "Send my view"),
    copy_text("form.error.text", "Enter your view, in no more than {max} characters"),
    copy_text("form.error.name", "Enter your name in no more than 200 characters, or leave it empty"),
    copy_text("form.error.channel", "Choose whether we should tell you what happened"),
    copy_text("form.error.email", "Enter an email address, like name@example.com"),
    copy_text("form.error.phone", "Enter a mobile phone number, like 07700 900123"),
    copy_text("form.error.address_line_1", "Enter the first line of your address, like your house number and street"),
    copy_text("form.error.address_line_1.easy", "Write your house number and street"),
    copy_text(
        "form.error.address_line_2",
        "Enter the second line of your address in no more than 100 characters, or leave it empty",
    ),
    copy_text("form.error.address_town", "Enter your town or city"),
    copy_text("form.error.address_town.easy", "Write your town or city"),
    copy_text("form.error.postcode", "Enter a UK postcode, like SW1A 1AA"),
    copy_text("form.error.postcode.easy", "Write your postcode. It looks like SW1A 1AA"),
    copy_text("form.error.consent", "Tick the box so that we may contact you, or choose not to be contacted"),
    copy_text("form.error.format", "Choose how we should write to you"),
    copy_text("form.error.equality", "Choose one of the answers, or leave the question unanswered"),
    copy_text("form.error.language", "Send the form again from this page"),
    copy_text("form.closed.title", "This question has closed"),
    copy_text("form.closed.text", "“{title}” is no longer taking views. We will say what happened by {date}."),
    copy_text("form.closed.others", "See what {council} is asking now"),
    copy_text("form.unknown.title", "We cannot find this question"),
    copy_text(
        "form.unknown.text",
        "The link may be wrong, or the question may have been removed. Check the link, or ask your council which "
        "questions are open.",
    ),
    copy_text("form.busy.title", "Please wait before sending more"),
    copy_text(
        "form.busy.text",
        "We have had many views from your internet connection in a short time. Please try again in a few minutes.",
    ),
    copy_text("thanks.title", "Thank you: we have your view"),
    copy_text("thanks.title.easy", "Thank you for telling us what you think"),
    copy_text("thanks.reference", "Your reference is"),
    copy_text("thanks.keep", "Keep this reference. Quote it if you contact us about your view."),
    copy_text("thanks.contact", "We have sent a message to say we got it. We will tell you what happened by {date}."),
    copy_text("thanks.contact.easy", "We will send you a message now. We will tell you what we decided by {date}."),
    copy_text(
        "thanks.no_contact",
        "You chose not to be contacted. We will still read your view, and we will publish what happened by {date}.",
    ),
    copy_text("thanks.repeat", "You had already sent us these words today, so we have kept them once."),
    copy_text("thanks.received", "We have your view. Thank you."),
    copy_text("thanks.more", "See other questions {council} is asking"),
)
