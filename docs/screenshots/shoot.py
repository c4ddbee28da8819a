"""Screenshots of the rendered report at 600 and 375 px in headless Chromium (Debian's, through Playwright).

    BFS_HOME=/tmp/report-home .venv/bin/bfs demo --no-prefect --fresh
    BFS_HOME=/tmp/report-home .venv/bin/bfs report --period 2026-Q3 --out /tmp/report-sv --lang sv
    BFS_HOME=/tmp/report-home .venv/bin/bfs report --period 2026-Q3 --out /tmp/report-en --lang en
    .venv/bin/python docs/screenshots/shoot.py /tmp/report-sv /tmp/report-en

The charts, which the e-mail carries as CID images, are put into the page as data: URIs. Each screenshot is the
page's top 2500 px, in a 256-colour palette to stay small.
"""

from __future__ import annotations

import base64
import io
import re
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
TOP = 2500


def page_html(folder: Path) -> tuple[str, str]:
    """The report's HTML in `folder` (as `bfs report --out` writes it) with its PNG charts inlined; and its language."""
    (html_file,) = folder.glob("behovsrapport-*.html")
    lang = html_file.suffixes[-2].strip(".")
    html = html_file.read_text(encoding="utf-8")

    def inline(m: re.Match[str]) -> str:
        return 'src="data:image/png;base64,' + base64.b64encode((folder / m.group(1)).read_bytes()).decode() + '"'

    return re.sub(r'src="([^":]+\.png)"', inline, html), lang


def main(folders: list[str]) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for folder in folders:
            html, lang = page_html(Path(folder))
            for width in (600, 375):
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                page.set_content(html)
                height = min(TOP, page.evaluate("document.documentElement.scrollHeight"))
                png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
                image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256)
                target = HERE / f"report-{lang}-{width}.png"
                image.save(target, optimize=True)
                print(f"{target} {width}x{height} {target.stat().st_size // 1024} KB")
                context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
