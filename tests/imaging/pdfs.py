"""Small PDFs written by hand for the tests: pages of text lines, an optional drawn box."""

from __future__ import annotations

from collections.abc import Sequence


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content(lines: Sequence[str], *, height: float) -> bytes:
    """Each line in Helvetica 12 pt, 16 pt apart from the top left; a dark box below them."""
    ops = ["BT", "/F1 12 Tf", f"50 {height - 60} Td"]
    for line in lines:
        ops += [f"({_escape(line)}) Tj", "0 -16 Td"]
    ops += ["ET", "0 0 0.5 rg", f"50 40 200 {min(120.0, height / 4)} re f"]
    return "\n".join(ops).encode("latin-1")


def pdf(pages: Sequence[Sequence[str]], *, size: tuple[float, float] = (595, 842)) -> bytes:
    """A PDF with one page per entry, each holding the given lines as real text."""
    width, height = size
    count = len(pages)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{4 + 2 * i} 0 R".encode() for i in range(count))
        + f"] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        stream = _content(lines, height=height)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    out += trailer.encode()
    return bytes(out)


LAB_LINES = (
    "City Hospital Laboratory - Haematology",
    "Haemoglobin 13.2 g/dL 12.0-15.5",
    "White cell count 11.8 x10^9/L 4.0-11.0",
    "Platelets 250 x10^9/L 150-400",
)
PATIENT_LINES = ("Name: Jane Example", "DOB: 01/02/1970", "MRN 00012345")
