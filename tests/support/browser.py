"""Debian's Chromium under Playwright, axe-core, and the keyboard, for the browser tests.

No browser is downloaded (`playwright install` is never run): Playwright drives
`/usr/bin/chromium` from Debian's package, and axe-core comes from npm (`package.json`,
installed into `node_modules/` by the Makefile) and is injected into each page.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--headless", "--no-sandbox"]
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
INTERACTIVE = "a[href], button, input, select, textarea, summary"


def require_chromium_and_axe() -> None:
    """Fail, saying what to install, where Chromium or axe-core is missing: the browser tests
    are part of `make test`, which installs both (tests/support/system-packages.sh, npm ci)."""
    missing = [
        what
        for what, path in (
            ("Chromium (apt-get install chromium)", CHROMIUM),
            ("axe-core (make install, or npm ci)", AXE),
        )
        if not path.exists()
    ]
    if missing:
        pytest.fail(f"browser tests need {' and '.join(missing)}", pytrace=False)


# Accessibility -----------------------------------------------------------------------


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA violations on the page as it is now.

    axe is evaluated through the DevTools protocol rather than a <script> tag, so the
    pages keep their strict Content-Security-Policy (no scripts at all) while tested.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_22_AA,
    )
    return results["violations"]


def describe_violations(url: str, violations: list[dict]) -> str:
    """axe's findings as a person would read them: rule, impact, help, and each element."""
    lines = [f"{url}: {len(violations)} WCAG 2.2 AA violation(s)"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"][:8]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary'].replace(chr(10), ' / ')}")
            lines.append(f"      {node['html'][:200]}")
    return "\n".join(lines)


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert not violations, describe_violations(page.url, violations)


# The keyboard ------------------------------------------------------------------------

# Marks, in document order, every control a keyboard user must be able to reach: visible,
# enabled, not taken out of the tab order, and for radio buttons one stop per group (the
# checked one, else the first), as browsers tab through radio groups. Returns how many.
_MARK_CONTROLS = """selector => {
  const groups = new Set();
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const controls = [...document.querySelectorAll(selector)].filter(el =>
    shown(el) && !el.disabled && el.type !== 'hidden' && el.tabIndex >= 0 && !el.closest('[inert]'));
  const stops = controls.filter(el => {
    if (el.type !== 'radio') return true;
    if (groups.has(el.name)) return false;
    groups.add(el.name);
    return true;
  }).map(el => el.type !== 'radio' ? el
      : (controls.find(r => r.type === 'radio' && r.name === el.name && r.checked) || el));
  stops.forEach((el, i) => el.setAttribute('data-keyboard-stop', String(i)));
  return stops.map(el => el.outerHTML.slice(0, 120));
}"""

# After a Tab: which marked control has focus, and whether it looks different from how it
# looks without focus (blurred for a moment, then focused again, so the order is kept).
_FOCUSED_STOP = """previous => {
  const el = document.activeElement;
  const stop = el && el.getAttribute('data-keyboard-stop');
  if (stop === null || stop === undefined) return null;
  if (Number(stop) === previous) return {stop: previous, visible: true};  // a date field's next part
  const look = () => {
    const s = getComputedStyle(el);
    return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor, s.color,
            s.textDecorationLine, s.borderColor].join('|');
  };
  const focused = look();
  el.blur();
  const unfocused = look();
  el.focus();
  return {stop: Number(stop), visible: focused !== unfocused};
}"""


def tab_through(page) -> list[str]:
    """Tab from the top of the page to its end. Asserts every control is reached, in
    document order, and looks different while it has focus; returns the controls."""
    controls = page.evaluate(_MARK_CONTROLS, INTERACTIVE)
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    reached: list[int] = []
    invisible: list[str] = []
    # A date field takes several presses (day, month, year, its calendar button).
    for _ in range(4 * len(controls)):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED_STOP, reached[-1] if reached else -1)
        if focused is None:
            break
        if reached and reached[-1] == focused["stop"]:
            continue
        reached.append(focused["stop"])
        if not focused["visible"]:
            invisible.append(controls[focused["stop"]])
    assert reached == list(range(len(controls))), (
        f"{page.url}: Tab reached {[controls[i] for i in reached]}\n"
        f"expected, in order: {json.dumps(controls, indent=1)}"
    )
    assert not invisible, f"{page.url}: no visible focus on {invisible}"
    return controls


def tab_to(page, selector: str, *, limit: int = 200) -> None:
    """Press Tab until the control matching `selector` has focus (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{page.url}: Tab never reached {selector}")


def type_into(page, selector: str, text: str) -> None:
    """Tab to a text field and type, as a keyboard user does."""
    tab_to(page, selector)
    page.keyboard.type(text)


def choose_option(page, selector: str, label: str, *, limit: int = 50) -> None:
    """Tab to a <select> and arrow down to the option shown as `label`."""
    tab_to(page, selector)
    for _ in range(limit):
        if page.evaluate("() => document.activeElement.selectedOptions[0]?.text.trim()") == label:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{page.url}: {selector} has no option {label!r}")


def type_date(page, selector: str, day) -> None:
    """Tab to a date field and type the day, month and year (the browser's en-GB order)."""
    tab_to(page, selector)
    page.keyboard.type(day.strftime("%d%m%Y"))
    typed = page.evaluate("() => document.activeElement.value")
    if typed != day.isoformat():  # a browser set to month-first: back to the first part, again
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
        page.keyboard.type(day.strftime("%m%d%Y"))
        typed = page.evaluate("() => document.activeElement.value")
    assert typed == day.isoformat(), f"{selector}: typed {day:%d/%m/%Y}, the field holds {typed!r}"


def press_button(page, selector: str) -> None:
    """Tab to a button and press Enter; waits for the page it leads to."""
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")
