"""The words people read, from gettext catalogs: English in the code, Welsh in a PO file.

Every message has a key (its gettext context, `msgctxt`) and English source text (its
`msgid`), written where it is used: `copy_text("dashboard.title", "Are we closing the loop?")`,
or, when it holds a number, `copy_plural("dashboard.overdue.count", "{count} contribution is
overdue.", "{count} contributions are overdue.")`. `make messages` extracts them with
`pybabel` into locale/messages.pot, brings locale/<lang>/LC_MESSAGES/messages.po up to date
and compiles the .mo files read here (README "For translators").

Plural forms follow the language's CLDR rules as Babel writes them in each catalog's
`Plural-Forms` header: English has two (one, other), Welsh six (zero, one, two, few, many,
other). An English catalog with no translation of a message shows the code's English.

A `Messages` is also the mapping the pages used before: `COPY["cy"]["dashboard.title"]`
is the Welsh text (a plural message gives its "other" form, with `{count}` unfilled).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from numbers import Number
from pathlib import Path

from babel import Locale
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("en", "cy")


@dataclass(frozen=True)
class Message:
    key: str
    singular: str
    plural: str | None = None


def copy_text(key: str, english: str) -> Message:
    """A message without a number in it; `key` is its context for translators (`msgctxt`)."""
    return Message(key, english)


def copy_plural(key: str, one: str, other: str) -> Message:
    """A message about a number of things, `{count}` in it: `one` for 1, `other` for any other number."""
    return Message(key, one, other)


@functools.cache
def translations(lang: str) -> Translations:
    """The compiled catalog of `lang` (a missing one is an error, never a page of gaps)."""
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as compiled:
        return Translations(compiled, domain=DOMAIN)


@functools.cache
def _rule_number(lang: str, category: str) -> int:
    """The smallest whole number in `category` (one, few, other...) in `lang`: the number gettext's
    `Plural-Forms` expression, which takes whole numbers only, is asked with."""
    rule = Locale.parse(lang).plural_form
    return next(n for n in range(1000) if rule(n) == category)


def plural_number(lang: str, n: object) -> int:
    """`n` as gettext's plural rule takes it: a whole number as it is; a fraction (2.5 days) by its
    CLDR category; something that is not a number (a count shown as "fewer than 5") as "other"."""
    if isinstance(n, Number) and not isinstance(n, bool) and float(n).is_integer():
        return int(n)
    category = Locale.parse(lang).plural_form(n) if isinstance(n, Number) else "other"
    return _rule_number(lang, category)


class Messages(Mapping[str, Mapping[str, str]]):
    """A set of messages, read in any language; as a mapping, language -> key -> text."""

    def __init__(self, *messages: Message):
        self.messages = {m.key: m for m in messages}
        self._catalogs: dict[str, dict[str, str]] = {}

    def __or__(self, other: Messages) -> Messages:
        return Messages(*self.messages.values(), *other.messages.values())

    def text(self, lang: str, key: str, **values) -> str:
        """A message in `lang`; `{name}` placeholders filled from `values` (a plural message takes
        the form its `count` value calls for)."""
        found = self.messages[key]
        if found.plural is not None:
            if "count" not in values:
                raise TypeError(f"{key} holds a number: ntext(lang, key, n) chooses its plural form")
            return self.ntext(lang, key, values["count"], **values)
        text = translations(lang).pgettext(key, found.singular)
        return text.format(**values) if values else text

    def ntext(self, lang: str, key: str, n: object, **values) -> str:
        """The form of a plural message that `n` takes in `lang`, `{count}` filled with `n` unless
        `values` gives it (a formatted number, or "fewer than 5")."""
        found = self.messages[key]
        if found.plural is None:
            raise TypeError(f"{key} has no plural forms: text(lang, key) shows it")
        form = translations(lang).npgettext(key, found.singular, found.plural, plural_number(lang, n))
        return form.format(**{"count": n, **values})

    # The mapping: language -> key -> text --------------------------------------------
    def __getitem__(self, lang: str) -> Mapping[str, str]:
        if lang not in LANGUAGES:
            raise KeyError(lang)
        if lang not in self._catalogs:
            self._catalogs[lang] = self._catalog(lang)
        return self._catalogs[lang]

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)

    def _catalog(self, lang: str) -> dict[str, str]:
        catalog = translations(lang)
        other = _rule_number(lang, "other")
        return {
            key: catalog.pgettext(key, m.singular)
            if m.plural is None
            else catalog.npgettext(key, m.singular, m.plural, other)
            for key, m in self.messages.items()
        }

    def nested(self, prefix: str) -> dict[str, dict]:
        """Keys `prefix.a.b` as `{lang: {"a": {"b": text}}}`: the shape of a table of labels."""
        found: dict[str, dict] = {}
        for lang in LANGUAGES:
            tree = found.setdefault(lang, {})
            for key, text in self._catalog(lang).items():
                *branches, leaf = key.removeprefix(f"{prefix}.").split(".")
                node = tree
                for branch in branches:
                    node = node.setdefault(branch, {})
                node[leaf] = text
        return found


MONTHS = {
    "en": "January February March April May June July August September October November December".split(),
    "cy": "Ionawr Chwefror Mawrth Ebrill Mai Mehefin Gorffennaf Awst Medi Hydref Tachwedd Rhagfyr".split(),
}


def long_date(value: dt.date | str | None, lang: str) -> str:
    """`3 March 2027` / `3 Mawrth 2027`: dates as people say them (English for other languages)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return f"{value.day} {MONTHS.get(lang, MONTHS['en'])[value.month - 1]} {value.year}"
