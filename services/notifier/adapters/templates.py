"""Messages from Jinja2 template files, in the participant's language and format.

Templates live in services/notifier/templates/<language>/<format>/<kind>.j2, each with
the blocks `subject`, `body` (plain text, paragraphs split by blank lines) and `sms`;
decision updates add `sms_reply`, the "Reply 1, 2 or 3" prompt an SMS always keeps.
Every email ends with links to change how we contact the person and to stop.
A missing translation falls back to English and is reported; a message that renders
empty is never sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import jinja2
from prometheus_client import Counter

from services.notifier.domain.model import fit_sms
from shared.http.i18n import Messages, copy_text, long_date

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
FALLBACK_LANGUAGE = "en"
MISSING_TRANSLATIONS = Counter(
    "notifier_translation_missing_total",
    "Messages sent in English for want of a translation",
    ["language", "format", "kind"],
)

# The English; the Welsh is in shared/http/i18n/locale/cy/LC_MESSAGES/messages.po (README
# "For translators"): `make messages` after any change here.
LABELS = Messages(
    copy_text("message.outcome.adopted", "agreed"),
    copy_text("message.outcome.partly_adopted", "partly agreed"),
    copy_text("message.outcome.not_adopted", "not agreed"),
    copy_text("message.outcome.deferred", "put off for now"),
    copy_text("message.outcome.out_of_scope", "outside what this engagement can change"),
    copy_text("message.status.planned", "planned"),
    copy_text("message.status.in_progress", "under way"),
    copy_text("message.status.implemented", "done"),
    copy_text("message.status.cancelled", "cancelled"),
    copy_text("message.digest_subject", "Updates about your contributions"),
    copy_text("message.preferences", "Change how we contact you"),
    copy_text("message.unsubscribe", "Stop these updates"),
    copy_text("message.type.view", "view"),
    copy_text("message.type.recommendation", "recommendation"),
    copy_text("message.type.complaint", "complaint"),
    copy_text("message.type.compliment", "compliment"),
    copy_text("message.type.question", "question"),
).nested("message")


class EmptyMessage(Exception):
    """A template rendered nothing: better no message than an empty one."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str
    language: str
    # The parts a digest is combined from: the text before its footer, the SMS before its
    # reply prompt and link, and the prompt (decision updates only).
    body: str = ""
    sms_body: str = ""
    sms_reply: str = ""


def _sms_tail(reply: str, status_url: str) -> str:
    """What an SMS never loses when shortened: the reply prompt, if any, and the link."""
    return f"{reply}\n{status_url}" if reply else status_url


class Renderer:
    def __init__(self, directory: Path = TEMPLATES):
        self.text_env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            auto_reload=False,  # templates ship with the code: no file check per message
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )
        self.html_env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory), autoescape=True, auto_reload=False
        )

    def _template(self, language: str, format_: str, kind: str) -> tuple[jinja2.Template, str]:
        # Large print is the standard wording, shown large.
        wording = "standard" if format_ == "large_print" else format_
        try:
            return self.text_env.get_template(f"{language}/{wording}/{kind}.j2"), language
        except jinja2.TemplateNotFound:
            if language == FALLBACK_LANGUAGE:
                raise
            MISSING_TRANSLATIONS.labels(language, wording, kind).inc()
            log.warning(
                "translation missing; sending in English", extra={"language": language, "format": wording, "kind": kind}
            )
            return self.text_env.get_template(f"{FALLBACK_LANGUAGE}/{wording}/{kind}.j2"), FALLBACK_LANGUAGE

    def render(self, kind: str, *, language: str, format_: str, context: dict) -> Rendered:
        template, used = self._template(language, format_, kind)
        labels = LABELS.get(used, LABELS[FALLBACK_LANGUAGE])
        values = {
            **context,
            "outcome_label": labels["outcome"].get(context.get("outcome", ""), ""),
            "contribution_type_label": labels["type"].get(context.get("type", ""), ""),
            "is_complaint": context.get("type") == "complaint",
            "status_label": labels["status"].get(context.get("change_status", ""), ""),
            "changes": [
                {**c, "status_label": labels["status"].get(c.get("status"), c.get("status"))}
                for c in context.get("changes", [])
            ],
            "feedback_due": long_date(context.get("feedback_due"), used),
            "revisit_on": long_date(context.get("revisit_on"), used),
        }
        blocks = {name: "".join(block(template.new_context(values))).strip() for name, block in template.blocks.items()}
        subject, text, sms = blocks.get("subject", ""), blocks.get("body", ""), blocks.get("sms", "")
        if not (subject and text and sms):
            raise EmptyMessage(f"{used}/{format_}/{kind} rendered an empty part")
        return self._assemble(subject, text, sms, blocks.get("sms_reply", ""), used, format_, context)

    def _assemble(
        self, subject: str, body: str, sms_body: str, sms_reply: str, language: str, format_: str, urls: dict
    ) -> Rendered:
        """The finished message: the text with its footer of links (how we contact you,
        stop), the same as HTML, and the SMS shortened to fit around its prompt and link."""
        labels = LABELS.get(language, LABELS[FALLBACK_LANGUAGE])
        footer = [
            (labels[name], urls[f"{name}_url"]) for name in ("preferences", "unsubscribe") if urls.get(f"{name}_url")
        ]
        text = "\n\n".join([body, "\n".join(f"{label}: {url}" for label, url in footer)]) if footer else body
        html = self.html_env.get_template("layout.html.j2").render(
            subject=subject,
            paragraphs=[p.strip() for p in body.split("\n\n") if p.strip()],
            large_print=format_ == "large_print",
            language=language,
            status_url=urls["status_url"],
            footer=footer,
        )
        sms = fit_sms(sms_body, _sms_tail(sms_reply, urls["status_url"]))
        return Rendered(subject, text, html, sms, language, body=body, sms_body=sms_body, sms_reply=sms_reply)

    def combine(self, parts: list[Rendered], *, format_: str, urls: dict) -> Rendered:
        """Several updates as one message (the digest): one greeting, each update in turn,
        one footer; by SMS, the reply prompt of the latest decision update among them."""
        language = parts[0].language
        body = "\n\n".join([parts[0].body] + ["\n\n".join(p.body.split("\n\n")[1:]) for p in parts[1:]])
        subject = LABELS.get(language, LABELS[FALLBACK_LANGUAGE])["digest_subject"]
        reply = next((p.sms_reply for p in reversed(parts) if p.sms_reply), "")
        sms_body = " / ".join(p.sms_body for p in parts)
        return self._assemble(subject, body, sms_body, reply, language, format_, urls)
