"""The structure every page must have, checked on the HTML a Flask test client gets back.

Not a substitute for axe-core in a browser (tests/support/browser.py): a quick check,
in the unit tier, of what a template can get wrong on its own: the page's language, one
h1, a label for every control, radio buttons grouped under a legend, and error-summary
links that lead to something on the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

CONTROLS = ("input", "select", "textarea")
UNLABELLED_INPUTS = ("hidden", "submit", "button")


@dataclass
class _Found:
    html_lang: str | None = None
    h1: int = 0
    ids: set[str] = field(default_factory=set)
    label_for: set[str] = field(default_factory=set)
    controls: list[dict] = field(default_factory=list)
    fragment_links: list[str] = field(default_factory=list)
    legends_open: list[bool] = field(default_factory=list)  # per open fieldset: has a legend
    text: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = _Found()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        found = self.found
        if attributes.get("id"):
            found.ids.add(attributes["id"])
        if tag == "html":
            found.html_lang = attributes.get("lang")
        elif tag == "h1":
            found.h1 += 1
        elif tag == "label" and attributes.get("for"):
            found.label_for.add(attributes["for"])
        elif tag == "fieldset":
            found.legends_open.append(False)
        elif tag == "legend" and found.legends_open:
            found.legends_open[-1] = True
        elif tag == "a" and (attributes.get("href") or "").startswith("#"):
            found.fragment_links.append(attributes["href"][1:])
        if tag in CONTROLS and attributes.get("type") not in UNLABELLED_INPUTS:
            found.controls.append(
                {
                    **attributes,
                    "tag": tag,
                    "in_fieldset_with_legend": bool(found.legends_open and found.legends_open[-1]),
                }
            )

    def handle_endtag(self, tag):
        if tag == "fieldset" and self.found.legends_open:
            self.found.legends_open.pop()

    def handle_data(self, data):
        self.found.text.append(data)


def read(html: str) -> _Found:
    reader = _Reader()
    reader.feed(html)
    return reader.found


def assert_page_structure(html: str, lang: str) -> None:
    found = read(html)
    assert found.html_lang == lang, f"<html lang> is {found.html_lang!r}, not {lang!r}"
    assert found.h1 == 1, f"{found.h1} h1 elements; a page has exactly one"
    for control in found.controls:
        name = control.get("name") or control["tag"]
        assert control.get("id") in found.label_for, f"the {name} control has no <label for=...>"
        if control.get("type") == "radio":
            assert control["in_fieldset_with_legend"], f"radio {control['id']} is not in a fieldset with a legend"
    for target in found.fragment_links:
        assert target in found.ids, f"a link points to #{target}, which is not on the page"


def visible_text(html: str) -> str:
    """The page's text, whitespace collapsed, for asserting what a reader sees."""
    return " ".join(" ".join(read(html).text).split())
