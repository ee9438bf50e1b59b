"""Attachments (첨부파일): the rules, pure — limits, what a file is (read from its content), the
metadata stripped from images and the thumbnails shown to officials. No I/O, no clock.

A file's type is decided by its bytes (magic numbers, and Pillow decoding an image), never by its
name or the content type a browser declares. Images are decoded and encoded again, so what is
stored holds the pixels only: no EXIF (GPS position, camera, time), no XMP, no PNG text chunks.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from minwon.errors import DomainError

COMPLAINT, ANSWER = "complaint", "answer"
TARGETS = (COMPLAINT, ANSWER)
"""An attachment belongs to the complaint (the citizen's or staff's evidence) or to its answer."""


@dataclass(frozen=True)
class Kind:
    """An accepted type: its media type, the extension names are given, whether it is an image."""

    media_type: str
    extension: str
    image: bool = False


JPEG = Kind("image/jpeg", "jpg", image=True)
PNG = Kind("image/png", "png", image=True)
WEBP = Kind("image/webp", "webp", image=True)
PDF = Kind("application/pdf", "pdf")
HWP = Kind("application/x-hwp", "hwp")
HWPX = Kind("application/hwp+zip", "hwpx")
TEXT = Kind("text/plain; charset=utf-8", "txt")
KINDS = (JPEG, PNG, WEBP, PDF, HWP, HWPX, TEXT)
BY_MEDIA_TYPE = {k.media_type: k for k in KINDS}


@dataclass(frozen=True)
class Limits:
    """What one upload and one complaint may hold (intake's settings set them)."""

    max_bytes: int = 10 * 1024 * 1024
    """One file, as received."""
    max_count: int = 10
    """Files per complaint and target (the complaint's own; its answer's)."""
    max_total_bytes: int = 50 * 1024 * 1024
    """All files of one complaint, both targets, as stored."""
    max_pixels: int = 40_000_000
    """An image's width × height (a decompression bomb is refused before it is decoded)."""
    thumbnail_px: int = 240
    """A thumbnail's longer side."""


@dataclass(frozen=True)
class Prepared:
    """A file as it is stored: the bytes (an image re-encoded), its kind, a safe name, a thumbnail."""

    content: bytes
    kind: Kind
    name: str
    thumbnail: bytes | None
    thumbnail_type: str | None


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"


def too_large(field: str, limit: int) -> DomainError:
    return DomainError("too_large", f"{field}: a file is at most {limit} bytes", 413, field=field)


def unsupported(field: str) -> DomainError:
    allowed = ", ".join(k.extension.upper() for k in KINDS)
    return DomainError("unsupported_type", f"{field}: the file's content is not one of {allowed}", 415, field=field)


def detect(data: bytes) -> Kind | None:
    """The kind the bytes are, by their signature (None: not accepted). Text is UTF-8 without
    control characters other than tab, line feed and carriage return."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[:1024].lstrip(b"\r\n\t ").startswith(b"%PDF-"):
        return PDF
    if data.startswith(OLE) and b"HWP Document File" in data[: 64 * 1024]:
        return HWP  # HWP 5: a compound file whose FileHeader stream names itself
    if data.startswith(ZIP) and b"mimetypeapplication/hwp+zip" in data[:256]:
        return HWPX  # OWPML: a ZIP whose first, stored entry is its media type
    if data and _plain_text(data):
        return TEXT
    return None


def _plain_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text)


def check_count(field: str, *, existing: int, adding: int, limits: Limits) -> None:
    if existing + adding > limits.max_count:
        raise DomainError(
            "too_many_files", f"{field}: at most {limits.max_count} files (there are {existing})", 422, field=field
        )


def check_total(field: str, *, stored: int, adding: int, limits: Limits) -> None:
    if stored + adding > limits.max_total_bytes:
        raise DomainError(
            "too_large", f"{field}: a complaint's files total at most {limits.max_total_bytes} bytes", 413, field=field
        )


def safe_name(name: str | None, kind: Kind) -> str:
    """The name shown and offered on download: the last path part, without control or quote
    characters, at most 100 characters, with the extension of what the file really is."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(
        ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C" and ch not in '"<>|*?:;'
    )
    stem = base.rsplit(".", 1)[0].strip(" .") if "." in base else base.strip(" .")
    return f"{(stem or 'file')[:100]}.{kind.extension}"


def prepare(field: str, data: bytes, name: str | None, limits: Limits) -> Prepared:
    """Check one file and make it what is stored: 413 too large, 415 not an accepted type,
    422 an image that does not decode (or too many pixels)."""
    if len(data) > limits.max_bytes:
        raise too_large(field, limits.max_bytes)
    if not data:
        raise DomainError("empty_file", f"{field}: the file is empty", 422, field=field)
    kind = detect(data)
    if kind is None:
        raise unsupported(field)
    if not kind.image:
        return Prepared(data, kind, safe_name(name, kind), None, None)
    image = _decode(field, data, limits)
    content = _encode(image, kind)
    thumb, thumb_type = thumbnail(image, limits.thumbnail_px)
    return Prepared(content, kind, safe_name(name, kind), thumb, thumb_type)


def _decode(field: str, data: bytes, limits: Limits) -> Image.Image:
    bad = DomainError("unreadable_image", f"{field}: the image cannot be read", 422, field=field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.width * probe.height > limits.max_pixels:
                raise DomainError(
                    "too_many_pixels", f"{field}: an image has at most {limits.max_pixels} pixels", 422, field=field
                )
            probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
    except DomainError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise bad from exc
    upright = ImageOps.exif_transpose(image)  # the EXIF orientation applied, since EXIF goes
    return upright if upright is not None else image


def _encode(image: Image.Image, kind: Kind) -> bytes:
    """The pixels only: a new file with no EXIF, XMP, comments or text chunks (an ICC colour
    profile is kept; it says nothing about the person or the place)."""
    out = io.BytesIO()
    icc = image.info.get("icc_profile")
    extra = {"icc_profile": icc} if icc else {}
    if kind is JPEG:
        rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
        rgb.save(out, "JPEG", quality=90, optimize=True, **extra)
    elif kind is PNG:
        image.save(out, "PNG", optimize=True, **extra)
    else:
        image.save(out, "WEBP", quality=90, **extra)
    return out.getvalue()


def thumbnail(image: Image.Image, size: int) -> tuple[bytes, str]:
    """A small copy (longer side ``size``): JPEG, or PNG when the image has transparency."""
    small = image.copy()
    small.thumbnail((size, size))
    out = io.BytesIO()
    if small.mode in ("RGBA", "LA", "P") and ("transparency" in small.info or small.mode != "P"):
        small.save(out, "PNG", optimize=True)
        return out.getvalue(), PNG.media_type
    small.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue(), JPEG.media_type


def content_disposition(name: str, *, inline: bool) -> str:
    """A header naming the file safely (RFC 6266/5987: an ASCII fallback and the UTF-8 name)."""
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "ignore").decode() or f"file.{name.rsplit('.', 1)[-1]}"
    ascii_name = ascii_name.replace("\\", "").replace('"', "")
    return f"{'inline' if inline else 'attachment'}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


SEALED_ANSWER_STATES = frozenset({"submitted", "approved"})
"""An answer in these states is with the approver or given: its files are what was approved."""


def may_add(
    target: str, *, status: str, citizen: bool, open_statuses: frozenset[str], answer_state: str | None = None
) -> str | None:
    """Why a file may not be added now (None: it may). A citizen adds to their own complaint while
    it is open; officials add to the complaint or, while the answer is not submitted for approval
    (결재) or approved, to its answer."""
    if target not in TARGETS:
        return "target"
    if citizen and target != COMPLAINT:
        return "target"
    if status not in open_statuses:
        return "status"
    if target == ANSWER and answer_state in SEALED_ANSWER_STATES:
        return "answer_state"
    return None


ENCLOSURE_HEAD = "붙임"
ENCLOSURE_TAIL = "(첨부파일은 민원 포털의 처리 상황 조회에서 내려받으실 수 있습니다.)"
_ENCLOSURE = re.compile(rf"(?:\A|\n)\s*{ENCLOSURE_HEAD}\n(?:\d+\. [^\n]*\n)+{re.escape(ENCLOSURE_TAIL)}\s*\Z")


def enclosed(text: str, names: list[str]) -> str:
    """The answer's text ending with its list of enclosures (붙임), as an official letter does: the
    list this function wrote before is replaced, so it always names the answer's files as they are
    (none: no list). The citizen reads it on the portal and in the result notice."""
    body = _ENCLOSURE.sub("", text or "").rstrip()
    if not names:
        return body
    lines = "\n".join(f"{n}. {name}" for n, name in enumerate(names, 1))
    block = f"{ENCLOSURE_HEAD}\n{lines}\n{ENCLOSURE_TAIL}"
    return f"{body}\n\n{block}" if body else block


def citizen_sees(target: str, *, answered: bool) -> bool:
    """A citizen (with the check code) sees their complaint's files, and the answer's once it is given."""
    return target == COMPLAINT or (target == ANSWER and answered)
