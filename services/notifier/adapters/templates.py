"""Messages from Jinja2 template files, in the participant's language and format.

Templates live in services/notifier/templates/<language>/<format>/<kind>.j2, each with
the blocks `subject`, `body` (plain text, paragraphs split by blank lines) and `sms`.
A missing translation falls back to English and is reported; a message that renders
empty is never sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import jinja2
from prometheus_client import Counter

from services.notifier.domain.model import fit_sms

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
FALLBACK_LANGUAGE = "en"
MISSING_TRANSLATIONS = Counter(
    "notifier_translation_missing_total",
    "Messages sent in English for want of a translation",
    ["language", "format", "kind"],
)

LABELS = {
    "en": {
        "outcome": {
            "adopted": "agreed",
            "partly_adopted": "partly agreed",
            "not_adopted": "not agreed",
            "deferred": "put off for now",
            "out_of_scope": "outside what this engagement can change",
        },
        "status": {"planned": "planned", "in_progress": "under way", "implemented": "done", "cancelled": "cancelled"},
        "digest_subject": "Updates about your contributions",
        "type": {
            "view": "view",
            "recommendation": "recommendation",
            "complaint": "complaint",
            "compliment": "compliment",
            "question": "question",
        },
        "months": [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
    },
    "cy": {
        "outcome": {
            "adopted": "wedi'i gytuno",
            "partly_adopted": "wedi'i gytuno'n rhannol",
            "not_adopted": "heb ei gytuno",
            "deferred": "wedi'i ohirio am y tro",
            "out_of_scope": "y tu hwnt i'r hyn y gall yr ymgysylltiad hwn ei newid",
        },
        "status": {
            "planned": "wedi'i gynllunio",
            "in_progress": "ar y gweill",
            "implemented": "wedi'i wneud",
            "cancelled": "wedi'i ganslo",
        },
        "digest_subject": "Newyddion am eich cyfraniadau",
        "type": {
            "view": "barn",
            "recommendation": "argymhelliad",
            "complaint": "cwyn",
            "compliment": "canmoliaeth",
            "question": "cwestiwn",
        },
        "months": [
            "Ionawr",
            "Chwefror",
            "Mawrth",
            "Ebrill",
            "Mai",
            "Mehefin",
            "Gorffennaf",
            "Awst",
            "Medi",
            "Hydref",
            "Tachwedd",
            "Rhagfyr",
        ],
    },
}


class EmptyMessage(Exception):
    """A template rendered nothing: better no message than an empty one."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str
    language: str


def format_date(value: dt.date | str | None, language: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    months = LABELS.get(language, LABELS[FALLBACK_LANGUAGE])["months"]
    return f"{value.day} {months[value.month - 1]} {value.year}"


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
            "feedback_due": format_date(context.get("feedback_due"), used),
            "revisit_on": format_date(context.get("revisit_on"), used),
        }
        blocks = {name: "".join(block(template.new_context(values))).strip() for name, block in template.blocks.items()}
        subject, text, sms = blocks.get("subject", ""), blocks.get("body", ""), blocks.get("sms", "")
        if not (subject and text and sms):
            raise EmptyMessage(f"{used}/{format_}/{kind} rendered an empty part")
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        html = self.html_env.get_template("layout.html.j2").render(
            subject=subject,
            paragraphs=paragraphs,
            large_print=format_ == "large_print",
            language=used,
            status_url=context["status_url"],
        )
        return Rendered(subject=subject, text=text, html=html, sms=fit_sms(sms, context["status_url"]), language=used)

    def combine(self, parts: list[Rendered], *, format_: str, status_url: str) -> Rendered:
        """Several updates as one message (the digest): one greeting, each update in turn."""
        language = parts[0].language
        sections = [parts[0].text] + ["\n\n".join(p.text.split("\n\n")[1:]) for p in parts[1:]]
        text = "\n\n".join(sections)
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        subject = LABELS.get(language, LABELS[FALLBACK_LANGUAGE])["digest_subject"]
        html = self.html_env.get_template("layout.html.j2").render(
            subject=subject,
            paragraphs=paragraphs,
            large_print=format_ == "large_print",
            language=language,
            status_url=status_url,
        )
        sms = " / ".join(p.sms.rsplit("\n", 1)[0] for p in parts)
        return Rendered(subject=subject, text=text, html=html, sms=fit_sms(sms, status_url), language=language)
