"""The words on the notifier's pages, in English and Welsh, keyed by message id.

`preferences.*` is the page where a participant changes how we contact them (from the
link in every email); `unsubscribe.*` the one-click stop page. Plain English, short
sentences. The Welsh says the same; a Welsh speaker should review it before it goes live.
"""

from shared.http.i18n import Messages, copy_text

# The English; the Welsh is in shared/http/i18n/locale/cy/LC_MESSAGES/messages.po (README
# "For translators"): `make messages` after any change here.
COPY = Messages(
    copy_text("preferences.title", "How we contact you"),
    copy_text(
        "preferences.intro",
        "Choose how we tell you what happened to your views. You can change this at any time.",
    ),
    copy_text("preferences.private", "This page is only for you. Do not share the link."),
    copy_text("preferences.channel", "How should we send you updates?"),
    copy_text("preferences.channel.email", "By email"),
    copy_text("preferences.channel.sms", "By text message"),
    copy_text("preferences.channel.post", "By letter"),
    copy_text("preferences.channel.none", "Do not send me updates"),
    copy_text("preferences.language", "Which language do you want?"),
    copy_text("preferences.language.en", "English"),
    copy_text("preferences.language.cy", "Cymraeg (Welsh)"),
    copy_text("preferences.format", "How should the updates look?"),
    copy_text("preferences.format.standard", "Standard"),
    copy_text("preferences.format.easy_read", "Easy read: short sentences and simple words"),
    copy_text("preferences.format.large_print", "Large print"),
    copy_text("preferences.messages", "Do you want updates from us?"),
    copy_text("preferences.messages.send", "Yes, keep telling me what happens"),
    copy_text("preferences.messages.stop", "No, stop all messages"),
    copy_text("preferences.save", "Save my choices"),
    copy_text("preferences.saved.title", "Your choices are saved"),
    copy_text("preferences.saved", "We will use these choices from now on."),
    copy_text("preferences.stopped", "We will not send you any more messages. You can start them again on this page."),
    copy_text("preferences.error.preferred_channel", "Choose how we should send you updates"),
    copy_text("preferences.error.language", "Choose a language"),
    copy_text("preferences.error.format", "Choose how the updates should look"),
    copy_text("preferences.error.consent_to_contact", "Choose if you want updates from us"),
    copy_text("unsubscribe.title", "Stop updates"),
    copy_text("unsubscribe.text", "You will not get any more updates about your views."),
    copy_text("unsubscribe.button", "Stop sending me updates"),
    copy_text("unsubscribe.done.title", "Updates stopped"),
    copy_text("unsubscribe.done.text", "You will not get any more updates. Thank you for taking part."),
    copy_text("unsubscribe.change_instead", "Change how we contact you instead"),
    copy_text("unsubscribe.start_again", "Start updates again or change how we contact you"),
)
