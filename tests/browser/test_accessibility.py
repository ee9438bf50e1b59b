"""Accessibility and language in a real browser: a label for every input, keyboard navigation
with a visible focus, sufficient contrast, a large base font, a phone-sized screen, and
English available beside Korean."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import System, shot, sign_in

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && [...el.labels].some(l => l.textContent.trim())) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""

# WCAG relative luminance contrast of an element's text against the first opaque background behind it
CONTRAST = """(selector) => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.offsetParent && el.tagName !== 'BODY') continue;
    const fg = parse(getComputedStyle(el).color).slice(0, 3);
    let node = el, bg = null;
    while (node && node.nodeType === 1) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) { bg = c.slice(0, 3); break; }
      node = node.parentElement;
    }
    bg = bg || [255, 255, 255];
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    out.push({text: (el.innerText || '').trim().slice(0, 30), ratio: (a + 0.05) / (b + 0.05)});
  }
  return out;
}"""

TEXT = (
    "body, p, label, legend, .hint, .note, a, .button, .badge, th, td, dt, dd, h1, h2, .nav a, "
    "button.link, .req, .alert p"
)


def check_page(page: Any, path: str) -> None:
    response = page.goto(path)
    assert response.status == 200, path
    assert page.evaluate(UNLABELLED) == [], path
    assert page.locator("html").get_attribute("lang") in ("ko", "en")
    assert page.locator("h1").count() == 1, path
    measured = page.evaluate(CONTRAST, TEXT)
    assert len(measured) >= 5, path
    low = [c for c in measured if c["ratio"] < 4.5]
    assert low == [], f"{path}: {low}"
    assert float(page.evaluate("getComputedStyle(document.body).fontSize").removesuffix("px")) >= 18


def test_every_screen_labels_its_inputs_and_has_sufficient_contrast(system: System, new_page: Any) -> None:
    receipt_no = system.file()["receipt_no"]
    system.assignment(receipt_no)
    page = new_page()
    for path in ("/", "/complaints/new", "/lookup", "/console/login"):
        check_page(page, path)
    sign_in(page, "office")
    for path in (
        "/console/queue?mine=0",
        "/console/board",
        "/console/rules",
        "/console/holidays",
        "/console/stats",
        f"/console/complaints/{receipt_no}",
        "/console/approvals",
        "/console/templates",
        "/console/intake/new",
    ):
        check_page(page, path)
    page.goto(f"/console/complaints/{receipt_no}")
    shown = page.locator("body").inner_text()
    assert not re.search(r"\b(immediate|excluded|draft|submitted|returned|approved)\b", shown), shown


def test_keyboard_navigation_with_a_visible_focus(new_page: Any) -> None:
    page = new_page()
    page.goto("/complaints/new")
    page.keyboard.press("Tab")
    skip = page.evaluate("[document.activeElement.className, document.activeElement.getAttribute('href')]")
    assert skip == ["skip", "#content"]
    assert page.locator(".skip").bounding_box()["x"] >= 0  # shown while focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"

    # tab from the skip target into the form: each stop shows a focus ring
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        info = page.evaluate("""() => { const el = document.activeElement, s = getComputedStyle(el);
            return {id: el.id, tag: el.tagName, outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
                    shadow: s.boxShadow}; }""")
        seen.append(info["id"] or info["tag"])
        assert info["outline"] != "none" and info["width"] >= 2, info
        if info["tag"] == "BUTTON":
            break
    for field in (
        "name",
        "address",
        "phone",
        "email",
        "kind",
        "category",
        "district",
        "title",
        "body",
        "priority",
        "consent_sms",
        "consent_post",
    ):
        assert field in seen, (field, seen)

    # the form can be filled and sent with the keyboard alone
    page.locator("#name").focus()
    page.keyboard.type("이키보드")
    page.keyboard.press("Tab")
    page.keyboard.type("부산광역시 수영구 광안동 1")
    page.locator("#title").focus()
    page.keyboard.type("키보드로 쓴 민원")
    page.keyboard.press("Tab")
    page.keyboard.type("마우스 없이 신청합니다.")
    page.locator("#consent_post").focus()
    page.keyboard.press("Space")
    page.locator("button[type=submit]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#receipt-no")).to_have_text(re.compile(r"\d{4}-[A-Z]+-\d{7}"))


def test_phone_sized_screens_do_not_scroll_sideways(system: System, new_page: Any) -> None:
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
    page = new_page(**phone)
    for path, name in (("/", "portal-home-phone"), ("/complaints/new", "portal-file-phone")):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), path
        shot(page, name)
    sign_in(page, "office")
    page.goto("/console/queue?mine=0")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    shot(page, "console-queue-phone")


def test_english_is_available_and_remembered(new_page: Any) -> None:
    page = new_page()
    page.goto("/")
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("File and track a complaint")
    assert page.locator("html").get_attribute("lang") == "en"
    shot(page, "portal-home-en")
    page.goto("/complaints/new")
    expect(page.locator("#identity-rule")).to_contain_text("a name and an address or a contact")
    expect(page.get_by_label("Kind of complaint")).to_contain_text("Grievance")
    sign_in(page, "office")
    page.goto("/console/board")
    expect(page.locator("h1")).to_have_text("Overdue and pre-warning board")
    page.goto("/console/stats")
    expect(page.locator("h1")).to_contain_text("Satisfaction statistics")
    for path, heading in (
        ("/console/approvals", "Answers awaiting approval"),
        ("/console/templates", "Canned answers"),
        ("/console/intake/new", "Register a complaint"),
    ):
        page.goto(path)
        expect(page.locator("h1")).to_contain_text(heading)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="한국어").click()
    expect(page.get_by_role("button", name="로그인")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "ko"


def test_the_answer_panel_is_usable_with_the_keyboard(system: System, new_page: Any) -> None:
    receipt_no = system.file(title="키보드 답변", body="키보드만으로 답변을 씁니다.")["receipt_no"]
    handler_id = system.assignment(receipt_no)["handler"]["id"]
    page = new_page()
    sign_in(page, handler_id)
    page.goto(f"/console/complaints/{receipt_no}")
    page.locator("#template_id").focus()
    seen = []
    for _ in range(12):
        info = page.evaluate("""() => { const el = document.activeElement, s = getComputedStyle(el);
            return {id: el.id, outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }""")
        seen.append(info["id"])
        assert info["outline"] != "none" and info["width"] >= 2, info
        if info["id"] == "do-submit":
            break
        page.keyboard.press("Tab")
    assert seen == [
        "template_id",
        "do-render",
        "answer-outcome",
        "answer-text",
        "answer-reasons",
        "answer-remedy",
        "do-save",
        "do-submit",
    ], seen
    page.locator("#answer-text").focus()
    page.keyboard.type("키보드로 쓴 답변입니다.")
    page.locator("#do-submit").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#answer-state")).to_contain_text("결재 대기")
