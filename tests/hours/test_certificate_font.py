"""A certificate prints the volunteer's Chinese name on a machine with no CJK font: the font
comes with the Python install. Rendered in a fresh interpreter whose font search paths all
point at an empty folder, then read back from the PDF as text."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pypdf

RENDER = """
import json, sys
from datetime import date
from services.hours.certificates import render_pdf
from services.hours.settings import load_settings
view = json.loads(sys.argv[1])
view["issued_on"] = date.fromisoformat(view["issued_on"])
settings = load_settings({"CERTIFICATE_KEY": "k", "ENVIRONMENT": "development"})
font = settings.font
sys.stderr.write(str(font.path) + "\\n")
sys.stdout.buffer.write(render_pdf(view, font, settings.check_url))
"""

VIEW = {
    "number": "YLZM20260000001-0123456789ABCDEF",
    "volunteer_name": "欧阳娜娜",
    "id_number": "5101**********0023",
    "volunteer_number": "V0000001",
    "organisation_name": "阳光志愿者协会",
    "person_in_charge": "张主任",
    "contact": "028-87654321",
    "period_from": "2026-01-01",
    "period_to": "2026-06-30",
    "minutes": 150,
    "hours": "2.5",
    "service_content": ["敬老院探访"],
    "issued_on": "2026-07-01",
}


def test_a_certificate_prints_the_chinese_name_with_no_system_font(tmp_path: Path) -> None:
    empty = tmp_path / "no-fonts"
    empty.mkdir()
    fonts_conf = tmp_path / "fonts.conf"
    fonts_conf.write_text(f"<?xml version='1.0'?><fontconfig><dir>{empty}</dir></fontconfig>")
    env = {
        **os.environ,
        "FONTCONFIG_FILE": str(fonts_conf),
        "FONTCONFIG_PATH": str(empty),
        "XDG_DATA_HOME": str(empty),
        "XDG_DATA_DIRS": str(empty),
        "HOME": str(empty),
    }
    env.pop("YILIN_CJK_FONT", None)
    done = subprocess.run(
        [sys.executable, "-c", RENDER, json.dumps(VIEW)],
        env=env,
        capture_output=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr.decode()
    font_path = done.stderr.decode().strip().splitlines()[-1]
    assert not font_path.startswith("/usr/share/fonts"), font_path
    reader = pypdf.PdfReader(io.BytesIO(done.stdout))
    # pypdf reads the CFF font's embedded two-byte Identity CMap one byte at a time, so a NUL
    # precedes every character; pdftotext reads it whole.
    text = "".join(page.extract_text() for page in reader.pages).replace("\x00", "")
    for shown in ("志愿服务记录证明", "欧阳娜娜", "阳光志愿者协会", "敬老院探访"):
        assert shown in text, (shown, text)
    embedded = {str(font.get("/BaseFont")) for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert any("NotoSansCJK" in name for name in embedded), embedded
