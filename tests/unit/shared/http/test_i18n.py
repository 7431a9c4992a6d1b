"""The copy's gettext catalogs: complete in Welsh, every plural form filled, in step with the code."""

from __future__ import annotations

import io
import string
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from services.decisions.entrypoints.copy import COPY as DECISIONS
from services.intake.entrypoints.copy import COPY as INTAKE
from services.notifier.adapters.templates import LABELS
from shared.http.i18n import LOCALE_DIR, Messages, copy_plural, copy_text

ROOT = Path(__file__).resolve().parents[4]
POT = LOCALE_DIR / "messages.pot"
# As the Makefile's `messages` target extracts them.
KEYWORDS = ["-k", "copy_text:1c,2", "-k", "copy_plural:1c,2,3", "-c", "Translators:", "--add-location", "file"]


def catalog(lang: str):
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po)


def entries(found) -> dict:
    """(context, English) -> (plural English, translator comments): what a translator is given."""
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]): (m.id, m.auto_comments) for m in found if m.id}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_says_1_contribution_is_and_2_contributions_are_overdue():
    assert INTAKE.ntext("en", "dashboard.overdue.count", 1) == "1 contribution is overdue."
    assert INTAKE.ntext("en", "dashboard.overdue.count", 2) == "2 contributions are overdue."
    assert INTAKE.ntext("en", "dashboard.days", 1) == "1 day"
    assert DECISIONS.ntext("en", "board.home.caption", 1, shown=1) == "The newest 1 of 1 decision"


@pytest.mark.parametrize(
    ("n", "welsh"),
    [
        (0, "Mae 0 cyfraniad yn hwyr."),  # zero
        (1, "Mae 1 cyfraniad yn hwyr."),  # one
        (2, "Mae 2 gyfraniad yn hwyr."),  # two: soft mutation (dau gyfraniad)
        (3, "Mae 3 chyfraniad yn hwyr."),  # few: aspirate mutation (tri chyfraniad)
        (6, "Mae 6 chyfraniad yn hwyr."),  # many: aspirate mutation (chwe chyfraniad)
        (7, "Mae 7 o gyfraniadau yn hwyr."),  # other
        (1000, "Mae 1000 o gyfraniadau yn hwyr."),
    ],
)
def test_welsh_takes_the_cldr_form_for_each_number(n, welsh):
    assert INTAKE.ntext("cy", "dashboard.overdue.count", n) == welsh


def test_a_fraction_or_a_suppressed_count_takes_the_other_form():
    assert INTAKE.ntext("en", "dashboard.days", 1.5) == "1.5 days"
    assert INTAKE.ntext("en", "dashboard.days", 1.0) == "1.0 day"
    assert DECISIONS.ntext("en", "public.said.people", "fewer than 5") == "fewer than 5 people"
    assert DECISIONS.ntext("cy", "public.said.people", "llai na 5") == "llai na 5 o bobl"
    assert DECISIONS.ntext("cy", "public.said.people", 2) == "2 berson"


def test_a_plural_message_is_shown_by_its_count_and_a_count_is_never_left_to_guess():
    messages = Messages(copy_text("brand", "Outcome Chain"), copy_plural("public.said.people", "{count} person", "x"))
    assert messages.text("en", "public.said.people", count=1) == "1 person"
    with pytest.raises(TypeError):
        messages.text("en", "public.said.people")
    with pytest.raises(TypeError):
        messages.ntext("en", "brand", 2)


def test_the_old_shape_still_reads_language_then_key():
    assert INTAKE["cy"]["dashboard.title"] == "Ydyn ni'n cau'r cylch?"
    assert INTAKE["en"]["dashboard.overdue.count"] == "{count} contributions are overdue."
    assert LABELS["cy"]["outcome"]["adopted"] == "wedi'i gytuno"
    assert LABELS["en"]["digest_subject"] == "Updates about your contributions"


def test_every_message_has_a_welsh_translation_with_every_plural_form_and_nothing_fuzzy():
    welsh = catalog("cy")
    assert welsh.plural_forms == get_plural("cy").plural_forms  # the CLDR rule, as `pybabel init -l cy` writes it
    assert welsh.num_plurals == 6
    problems = []
    for m in list(welsh)[1:]:
        forms = m.string if m.pluralizable else (m.string,)
        english = m.id if m.pluralizable else (m.id,)
        if m.fuzzy or not all(form.strip() for form in forms) or len(forms) != len(english) and len(forms) != 6:
            problems.append(f"{m.context}: {m.id!r} is untranslated, fuzzy or short of a plural form")
            continue
        allowed = set().union(*map(placeholders, english))
        for form in forms:
            if not placeholders(form) <= allowed or (not m.pluralizable and placeholders(form) != allowed):
                problems.append(f"{m.context}: {form!r} has other placeholders than {m.id!r}")
    assert not welsh.obsolete
    assert not problems, "\n".join(problems)


def test_the_english_catalog_has_no_fuzzy_guesses():
    english = catalog("en")
    assert english.plural_forms == get_plural("en").plural_forms
    assert not [m.context for m in list(english)[1:] if m.fuzzy]


def test_the_template_and_both_catalogs_are_up_to_date_with_the_code(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    extracted = tmp_path / "messages.pot"
    cli = ["pybabel", "--quiet", "extract", "-F", "babel.cfg", *KEYWORDS, "-o", str(extracted), "shared", "services"]
    CommandLineInterface().run(cli)
    with extracted.open("rb") as fresh, POT.open("rb") as committed:
        code, pot = entries(read_po(fresh)), entries(read_po(committed))
    assert pot == code, "messages.pot differs from the code: run `make messages`"
    for lang in ("en", "cy"):
        assert {k: v[0] for k, v in entries(catalog(lang)).items()} == {k: v[0] for k, v in code.items()}, (
            f"{lang} messages.po is not up to date with messages.pot: run `make messages`"
        )


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_compiled_catalogs_are_the_po_files(lang):
    compiled = io.BytesIO()
    write_mo(compiled, catalog(lang))
    committed = (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert compiled.getvalue() == committed, f"{lang} messages.mo is older than its .po: run `make messages`"
