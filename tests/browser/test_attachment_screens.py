"""Attachments on screen: a citizen files on the portal with two photos, the department's handler sees their
thumbnails on the console's complaint page and answers with a document attached, the team lead approves and
the citizen downloads it on the lookup page, and an official of another department is refused (403)."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

from PIL import Image
from playwright.sync_api import expect

from tests import attachment_files as files
from tests.browser.conftest import System, other_department, shot, sign_in
from tests.factories import staff_headers


def test_photos_filed_on_the_portal_are_thumbnails_in_the_console_and_the_answer_document_reaches_the_citizen(
    system: System, new_page: Any
) -> None:
    tag = uuid.uuid4().hex[:6]
    citizen = new_page()
    citizen.goto("/complaints/new")
    citizen.get_by_label("성명").fill("김시민")
    citizen.get_by_label("휴대전화 번호").fill("010-2345-6789")
    citizen.locator("#category").select_option("도로")
    citizen.get_by_label("제목").fill(f"보도블록 파손 {tag}")
    citizen.get_by_label("내용").fill("집 앞 보도블록이 깨져 위험합니다. 사진을 첨부합니다.")
    citizen.locator("#attachments").set_input_files(
        [
            {"name": f"보도-{tag}.jpg", "mimeType": "image/jpeg", "buffer": files.photo()},
            {"name": f"보도-근경-{tag}.jpg", "mimeType": "image/jpeg", "buffer": files.photo(color="gray")},
            {"name": "setup.jpg", "mimeType": "image/jpeg", "buffer": files.executable()},
        ]
    )
    citizen.get_by_role("button", name=re.compile("신청")).click()
    receipt_no = citizen.locator("#receipt-no").inner_text().strip()
    code = citizen.locator("#check-code").inner_text().strip()
    expect(citizen.locator("#attached")).to_contain_text(f"보도-{tag}.jpg")
    expect(citizen.locator("#attached")).to_contain_text(f"보도-근경-{tag}.jpg")
    expect(citizen.locator("#not-attached")).to_contain_text("setup.jpg")  # an executable named .jpg
    shot(citizen, "portal-attachments-receipt")

    assignment = system.assignment(receipt_no)
    department, handler = assignment["department"], assignment["handler"]["id"]
    official = new_page()
    sign_in(official, handler)
    official.goto(f"/console/complaints/{receipt_no}")
    expect(official.locator("#attachments-complaint img.thumbnail")).to_have_count(2)
    item = official.locator("#attachments-complaint li").filter(has_text=f"보도-{tag}.jpg")
    expect(item).to_contain_text(f"보도-{tag}.jpg")
    thumbnail = item.locator("img.thumbnail")
    expect(thumbnail).to_be_visible()
    official.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert thumbnail.evaluate("img => Math.max(img.naturalWidth, img.naturalHeight)") == 240

    # the downloaded photo carries no GPS position or camera
    href = item.locator("a.attachment-name").get_attribute("href")
    download = official.request.get(href)
    assert download.status == 200 and files.exif_of(download.body()) == {}
    with Image.open(io.BytesIO(download.body())) as image:
        assert image.size == (640, 480)

    # the handler adds a document to the answer
    official.locator("#answer-attachment-file").set_input_files(
        [{"name": "조치결과.pdf", "mimeType": "application/pdf", "buffer": files.pdf()}]
    )
    official.locator("#do-attach-answer").click()
    expect(official.locator("#attachment-added")).to_be_visible()
    expect(official.locator("#attachments-answer")).to_contain_text("조치결과.pdf")
    expect(official.locator("#attachments-complaint img.thumbnail").first).to_be_visible()
    shot(official, "console-attachments")

    # the citizen sees their file on the lookup page (the answer's only once it is given)
    citizen.goto(f"/lookup?receipt_no={receipt_no}")
    citizen.locator("#code").fill(code)
    citizen.get_by_role("button", name=re.compile("조회")).click()
    expect(citizen.locator("#citizen-attachments-complaint")).to_contain_text(f"보도-{tag}.jpg")
    expect(citizen.locator("#citizen-attachments-answer")).to_have_count(0)
    with citizen.expect_download() as got:
        citizen.get_by_role("button", name=re.compile(f"보도-{tag}")).click()
    path = got.value.path()
    assert path is not None and files.exif_of(open(path, "rb").read()) == {}
    shot(citizen, "portal-attachments-lookup")

    # while it is open, the citizen adds a document (e.g. one asked for as a supplement)
    citizen.locator("#citizen-attachment-file").set_input_files(
        [{"name": "등기부등본.pdf", "mimeType": "application/pdf", "buffer": files.pdf()}]
    )
    citizen.locator("#do-citizen-attach").click()
    expect(citizen.locator("#attached")).to_contain_text("등기부등본.pdf")
    citizen.get_by_role("button", name="처리 상황 보기").click()
    expect(citizen.locator("#citizen-attachments-complaint")).to_contain_text("등기부등본.pdf")

    # the handler answers; the team lead approves; the citizen downloads the answer's document
    official.reload()
    official.locator("#answer-outcome").select_option("accepted")
    official.locator("#answer-text").fill("보도블록을 교체했습니다. 조치 결과를 붙임으로 보내 드립니다.")
    official.get_by_role("button", name="결재 요청").click()
    expect(official.locator("#answer-state")).to_contain_text("결재 대기")
    lead = new_page()
    sign_in(lead, f"{department}-lead")
    lead.goto(f"/console/complaints/{receipt_no}")
    lead.get_by_role("button", name=re.compile("^승인")).click()
    expect(lead.locator("#answer-state")).to_contain_text("승인됨")
    citizen.goto(f"/lookup?receipt_no={receipt_no}")
    citizen.locator("#code").fill(code)
    citizen.get_by_role("button", name=re.compile("조회")).click()
    expect(citizen.locator("#citizen-attachments-answer")).to_contain_text("조치결과.pdf")
    with citizen.expect_download() as answer_file:
        citizen.locator("#citizen-attachments-answer").get_by_role("button", name=re.compile("조치결과")).click()
    answer_path = answer_file.value.path()
    assert answer_path is not None and open(answer_path, "rb").read() == files.pdf()

    # an official of another department: the page and the file itself are refused
    outsider = new_page()
    sign_in(outsider, f"{other_department(department)}-01")
    assert outsider.goto(f"/console/complaints/{receipt_no}").status == 403
    assert outsider.request.get(href).status == 403
    assert outsider.request.get(f"{href}/thumbnail").status == 403
    privacy = staff_headers("privacy-01", department=None, roles=("privacy_officer",))
    audit = system.json("GET", "/api/v1/complaints/audit", params={"receipt_no": receipt_no}, headers=privacy)["items"]
    reads = {(x["actor_id"], x["action"]) for x in audit}
    assert (handler, "read_attachment_thumbnail") in reads and (handler, "read_attachment") in reads
    assert ("citizen", "read_attachment") in reads
    assert not any(x["actor_id"].startswith(other_department(department)) for x in audit)


def test_a_whistleblowers_files_are_for_the_complaint_office_only(system: System, new_page: Any) -> None:
    filed = system.file(title="공사 현장 비리 신고", whistleblower=True, category="도로")
    receipt_no = filed["receipt_no"]
    added = system.api(
        "POST",
        f"/api/v1/complaints/{receipt_no}/attachments",
        params={"code": filed["check_code"]},
        headers={"Authorization": ""},
        files=[("file", ("증거.jpg", files.photo(), "image/jpeg"))],
    )
    assert added.status_code == 201, added.text
    handler = system.assignment(receipt_no)["handler"]["id"]
    official = new_page()
    sign_in(official, handler)
    official.goto(f"/console/complaints/{receipt_no}")
    expect(official.locator("#attachments-hidden")).to_contain_text("민원과만")
    expect(official.locator("#attachments img")).to_have_count(0)
    office = new_page()
    sign_in(office, "office")
    office.goto(f"/console/complaints/{receipt_no}")
    expect(office.locator("#attachments-complaint")).to_contain_text("증거.jpg")
