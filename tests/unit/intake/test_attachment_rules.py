"""The attachment rules, pure: types read from the content, limits, metadata stripped from images,
thumbnails, safe names. No I/O (files are made in memory)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from minwon.errors import DomainError
from services.intake import attachments as rules
from tests import attachment_files as files

LIMITS = rules.Limits(max_bytes=200_000, max_count=3, max_total_bytes=500_000, max_pixels=2_000_000, thumbnail_px=120)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (files.photo(), rules.JPEG),
        (files.png_with_text(), rules.PNG),
        (files.webp(), rules.WEBP),
        (files.pdf(), rules.PDF),
        (files.hwp(), rules.HWP),
        (b"PK\x03\x04" + bytes(26) + b"mimetypeapplication/hwp+zip" + bytes(100), rules.HWPX),
        ("도로가 파손되었습니다.\r\n사진을 첨부합니다.\t끝".encode(), rules.TEXT),
    ],
)
def test_the_type_is_read_from_the_content(data: bytes, kind: rules.Kind) -> None:
    assert rules.detect(data) is kind


@pytest.mark.parametrize(
    "data",
    [
        files.executable(),
        files.word_document(),
        b"PK\x03\x04" + bytes(200),
        b"GIF89a" + bytes(100),
        b"binary\x00text",
        "한글".encode("euc-kr") + b"\xff\xfe",
        b"",
    ],
)
def test_other_content_is_not_accepted(data: bytes) -> None:
    assert rules.detect(data) is None


def test_a_name_or_declared_type_changes_nothing() -> None:
    """An executable named photo.jpg is refused; a PDF named photo.jpg is stored as a PDF named .pdf."""
    with pytest.raises(DomainError) as refused:
        rules.prepare("file", files.executable(), "photo.jpg", LIMITS)
    assert (refused.value.status, refused.value.field) == (415, "file")
    prepared = rules.prepare("file", files.pdf(), "photo.jpg", LIMITS)
    assert prepared.kind is rules.PDF and prepared.name == "photo.pdf" and prepared.thumbnail is None
    assert prepared.content == files.pdf()  # documents are stored as received


def test_size_limit_is_413_naming_the_field() -> None:
    with pytest.raises(DomainError) as refused:
        rules.prepare("media_url", files.pdf() + bytes(LIMITS.max_bytes), "big.pdf", LIMITS)
    assert (refused.value.status, refused.value.code, refused.value.field) == (413, "too_large", "media_url")
    with pytest.raises(DomainError) as empty:
        rules.prepare("file", b"", "empty.txt", LIMITS)
    assert (empty.value.status, empty.value.field) == (422, "file")


def test_an_image_that_does_not_decode_is_422() -> None:
    with pytest.raises(DomainError) as refused:
        rules.prepare("file", files.broken_jpeg(), "x.jpg", LIMITS)
    assert (refused.value.status, refused.value.code, refused.value.field) == (422, "unreadable_image", "file")


def test_too_many_pixels_is_refused_before_decoding() -> None:
    out = io.BytesIO()
    Image.new("L", (2000, 1001)).save(out, "PNG")
    with pytest.raises(DomainError) as refused:
        rules.prepare("file", out.getvalue(), "huge.png", LIMITS)
    assert (refused.value.status, refused.value.code) == (422, "too_many_pixels")


def test_exif_with_gps_and_camera_is_stripped_from_a_jpeg() -> None:
    original = files.photo()
    assert files.GPS_IFD in files.exif_of(original) and files.exif_of(original)[files.MODEL] == files.CAMERA
    prepared = rules.prepare("file", original, "현장사진.jpeg", LIMITS)
    assert prepared.kind is rules.JPEG and prepared.name == "현장사진.jpg"
    assert files.exif_of(prepared.content) == {}
    assert files.CAMERA.encode() not in prepared.content and b"Exif" not in prepared.content
    with Image.open(io.BytesIO(prepared.content)) as stored:
        assert stored.size == (640, 480) and "exif" not in stored.info


def test_the_orientation_is_applied_before_the_exif_goes() -> None:
    """A phone's portrait photo (landscape pixels, orientation 6) is stored upright."""
    prepared = rules.prepare("file", files.photo(size=(400, 300), orientation=6), "p.jpg", LIMITS)
    with Image.open(io.BytesIO(prepared.content)) as stored:
        assert stored.size == (300, 400)


def test_png_text_chunks_are_stripped() -> None:
    original = files.png_with_text()
    assert b"tEXt" in original or b"iTXt" in original
    prepared = rules.prepare("file", original, "map.png", LIMITS)
    assert b"tEXt" not in prepared.content and b"iTXt" not in prepared.content and b"zTXt" not in prepared.content
    with Image.open(io.BytesIO(prepared.content)) as stored:
        assert stored.mode == "RGBA" and not getattr(stored, "text", {})


def test_thumbnails_are_small_jpeg_or_png_with_transparency() -> None:
    photo = rules.prepare("file", files.photo(), "a.jpg", LIMITS)
    assert photo.thumbnail_type == "image/jpeg" and photo.thumbnail is not None
    with Image.open(io.BytesIO(photo.thumbnail)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 120 and thumb.size == (120, 90)
    assert files.exif_of(photo.thumbnail) == {}
    clear = rules.prepare("file", files.png_with_text(), "b.png", LIMITS)
    assert clear.thumbnail_type == "image/png" and clear.thumbnail is not None
    with Image.open(io.BytesIO(clear.thumbnail)) as thumb:
        assert thumb.format == "PNG" and max(thumb.size) <= 120


def test_count_and_total_limits() -> None:
    rules.check_count("file", existing=1, adding=2, limits=LIMITS)
    with pytest.raises(DomainError) as many:
        rules.check_count("file", existing=2, adding=2, limits=LIMITS)
    assert (many.value.status, many.value.code, many.value.field) == (422, "too_many_files", "file")
    rules.check_total("file", stored=400_000, adding=100_000, limits=LIMITS)
    with pytest.raises(DomainError) as total:
        rules.check_total("file", stored=400_000, adding=100_001, limits=LIMITS)
    assert total.value.status == 413


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("C:\\Users\\홍길동\\사진.JPG", "사진.jpg"),
        ("../../etc/passwd", "passwd.jpg"),
        ('a"b<c>\x00d.jpeg', "abcd.jpg"),
        ("", "file.jpg"),
        (None, "file.jpg"),
        ("." * 5, "file.jpg"),
        ("x" * 300 + ".jpg", "x" * 100 + ".jpg"),
    ],
)
def test_names_are_made_safe_with_the_real_extension(given: str | None, expected: str) -> None:
    assert rules.safe_name(given, rules.JPEG) == expected


def test_content_disposition_has_an_ascii_fallback_and_the_utf8_name() -> None:
    header = rules.content_disposition("현장 사진.jpg", inline=False)
    assert header.startswith('attachment; filename="') and "filename*=UTF-8''%ED%98%84" in header
    assert rules.content_disposition("a.pdf", inline=True) == "inline; filename=\"a.pdf\"; filename*=UTF-8''a.pdf"


def test_who_may_add_and_see() -> None:
    open_ = frozenset({"received", "in_progress"})
    assert rules.may_add("complaint", status="received", citizen=True, open_statuses=open_) is None
    assert rules.may_add("answer", status="received", citizen=True, open_statuses=open_) == "target"
    assert rules.may_add("answer", status="in_progress", citizen=False, open_statuses=open_) is None
    assert rules.may_add("complaint", status="closed", citizen=False, open_statuses=open_) == "status"
    assert rules.may_add("other", status="received", citizen=False, open_statuses=open_) == "target"
    assert rules.citizen_sees("complaint", answered=False)
    assert not rules.citizen_sees("answer", answered=False)
    assert rules.citizen_sees("answer", answered=True)


def test_an_answer_in_approval_or_approved_takes_no_more_files() -> None:
    open_ = frozenset({"received", "in_progress"})
    for state in (None, "draft", "returned"):
        assert (
            rules.may_add("answer", status="in_progress", citizen=False, open_statuses=open_, answer_state=state)
            is None
        )
    for state in ("submitted", "approved"):
        assert (
            rules.may_add("answer", status="in_progress", citizen=False, open_statuses=open_, answer_state=state)
            == "answer_state"
        )
    assert (
        rules.may_add("complaint", status="in_progress", citizen=False, open_statuses=open_, answer_state="submitted")
        is None
    )


def test_the_answer_text_ends_with_its_enclosures_replaced_not_repeated() -> None:
    text = "가로등을 교체했습니다.\n감사합니다."
    once = rules.enclosed(text, ["조치결과.pdf", "현장.jpg"])
    assert once == (f"{text}\n\n붙임\n1. 조치결과.pdf\n2. 현장.jpg\n{rules.ENCLOSURE_TAIL}")
    assert rules.enclosed(once, ["조치결과.pdf", "현장.jpg"]) == once
    assert rules.enclosed(once + "\n\n", ["a.pdf"]) == f"{text}\n\n붙임\n1. a.pdf\n{rules.ENCLOSURE_TAIL}"
    assert rules.enclosed(once, []) == text
    assert rules.enclosed("", ["a.pdf"]) == f"붙임\n1. a.pdf\n{rules.ENCLOSURE_TAIL}"
    assert rules.enclosed(rules.enclosed("", ["a.pdf"]), ["b.pdf"]) == f"붙임\n1. b.pdf\n{rules.ENCLOSURE_TAIL}"
    assert rules.enclosed("붙임\n1. 직접 적은 목록", ["a.pdf"]).startswith("붙임\n1. 직접 적은 목록\n\n붙임\n1. a.pdf")
