"""Files for the attachment tests, made in memory: a photo carrying EXIF (GPS position, camera), a
PNG with text chunks, a PDF, an HWP header, and things that are not what their name says."""

from __future__ import annotations

import io

from PIL import Image, PngImagePlugin

GPS_IFD = 0x8825
MAKE, MODEL, ORIENTATION = 0x010F, 0x0110, 0x0112
CAMERA = "MinwonCam X100"


def photo(*, size: tuple[int, int] = (640, 480), orientation: int | None = None, color: str = "orange") -> bytes:
    """A JPEG with the camera's make and model and a GPS position (Busan City Hall) in its EXIF."""
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 40):  # some detail, so it is not one flat colour
        image.paste("navy", (x, 0, x + 10, size[1]))
    exif = Image.Exif()
    exif[MAKE] = "MinwonCam"
    exif[MODEL] = CAMERA
    if orientation:
        exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "N", 2: (35.0, 10.0, 48.0), 3: "E", 4: (129.0, 4.0, 30.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "홍길동 010-1234-5678")
    info.add_text("Comment", "집 주소: 해운대구 우동 1번지")
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 128, 0, 200)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 80), "teal").save(out, "WEBP")
    return out.getvalue()


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def hwp() -> bytes:
    """The start of an HWP 5 document: the compound-file signature and the FileHeader stream's text."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"HWP Document File" + bytes(2048)


def word_document() -> bytes:
    """A compound file that is not HWP (an old Word document's signature)."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Microsoft Word-Dokument" + bytes(2048)


def executable() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00" + bytes(1024)


def broken_jpeg() -> bytes:
    """JPEG's signature, then nothing an image decoder can read."""
    return b"\xff\xd8\xff\xe0" + b"not really an image" * 20


def exif_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())
