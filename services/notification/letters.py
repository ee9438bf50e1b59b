"""Postal letters (우편 통지서) as PDF, with fpdf2 and a Korean TrueType font.

Font: ``MINWON_NOTIFICATION_LETTER_FONT`` if set, else the first Korean system
font found (fonts-nanum, fonts-noto-cjk's TTF builds, fonts-unfonts-core,
fonts-baekmuk), else the bundled NanumSquare Regular (``fonts/``, SIL OFL 1.1),
so a letter renders Korean on a machine with no Korean font installed. The
letter's metadata names the font and where it came from.

A letter is deterministic: the same content and issue instant give the same
bytes (the PDF's creation date is the notification's), so its SHA-256 is
stable across retries and is kept as delivery evidence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from services.notification.domain import mask_address, mask_name

SEOUL = ZoneInfo("Asia/Seoul")
BUNDLED_FONT = Path(__file__).parent / "fonts" / "NanumSquareR.ttf"
SYSTEM_FONTS = (
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/truetype/nanum/NanumMyeongjo.ttf"),
    Path("/usr/share/fonts/truetype/unfonts-core/UnDotum.ttf"),
    Path("/usr/share/fonts/truetype/unfonts-core/UnBatang.ttf"),
    Path("/usr/share/fonts/truetype/baekmuk/dotum.ttf"),
    Path("/usr/share/fonts/truetype/baekmuk/batang.ttf"),
)


@dataclass(frozen=True)
class Font:
    path: Path
    source: str  # "configured" | "system" | "bundled"

    @property
    def name(self) -> str:
        return self.path.stem


def find_font(configured: Path | None = None, candidates: tuple[Path, ...] = SYSTEM_FONTS) -> Font:
    """The font letters are set in (see the module docstring for the order)."""
    if configured is not None:
        if not Path(configured).is_file():
            raise FileNotFoundError(f"letter font {configured} not found")
        return Font(Path(configured), "configured")
    for path in candidates:
        if path.is_file():
            return Font(path, "system")
    return Font(BUNDLED_FONT, "bundled")


@dataclass(frozen=True)
class Letter:
    org_name: str
    title: str
    recipient_name: str
    address: str
    body: str
    receipt_no: str
    letter_no: str
    issued_at: datetime
    department: str = ""
    handler_name: str = ""
    handler_contact: str = ""


def render_pdf(letter: Letter, font: Font) -> tuple[bytes, dict[str, Any]]:
    """The letter as A4 PDF bytes, and its metadata (PII masked) for the delivery record."""
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creation_date(letter.issued_at)
    pdf.set_title(letter.title)
    pdf.set_author(letter.org_name)
    pdf.set_margins(22, 22, 22)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_font("korean", fname=str(font.path))
    pdf.add_page()

    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("korean", size=18)
    pdf.cell(width, 12, letter.org_name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(60, 60, 60)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
    pdf.ln(6)

    pdf.set_font("korean", size=11)
    rows = (
        ("수신", f"{letter.recipient_name} 귀하"),
        ("주소", letter.address),
        ("문서번호", letter.letter_no),
        ("접수번호", letter.receipt_no),
        ("시행일자", f"{letter.issued_at.astimezone(SEOUL):%Y. %m. %d.}"),
        ("제목", letter.title),
    )
    for label, value in rows:
        pdf.cell(26, 7, label)
        pdf.multi_cell(width - 26, 7, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(6)

    pdf.set_font("korean", size=11)
    pdf.multi_cell(width, 7, letter.body, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(14)
    pdf.set_font("korean", size=16)
    pdf.cell(width, 10, f"{letter.org_name}장", align="C", new_x="LMARGIN", new_y="NEXT")

    data = bytes(pdf.output())
    meta = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "pages": pdf.pages_count,
        "paper": "A4",
        "font": font.name,
        "font_source": font.source,
        "letter_no": letter.letter_no,
        "receipt_no": letter.receipt_no,
        "title": letter.title,
        "issued_at": letter.issued_at.isoformat(),
        "recipient": mask_name(letter.recipient_name),
        "address": mask_address(letter.address),
    }
    return data, meta
