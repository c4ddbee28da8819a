"""Screenshots of the web form at 375 and 1280 px in headless Chromium (Debian's, through Playwright).

    BFS_HOME=/tmp/form-home .venv/bin/bfs demo --no-prefect --fresh     # prints three personal links
    BFS_HOME=/tmp/form-home .venv/bin/bfs web --port 8080 &
    .venv/bin/python docs/screenshots/shoot_form.py http://127.0.0.1:8080/f/TOKEN

Writes form-{375,1280}.png (the form as it opens), form-errors-{375,1280}.png (after submitting "en halv" as a
number: the error summary at the top) and form-receipt-375.png. Each is the page's top 2500 px, 256 colours.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
TOP = 2500


def save(page: Any, name: str, width: int) -> None:
    height = min(TOP, page.evaluate("document.documentElement.scrollHeight"))
    png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
    Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256).save(HERE / f"{name}-{width}.png", optimize=True)
    print(HERE / f"{name}-{width}.png")


def main(url: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for width in (375, 1280):
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(url)
            save(page, "form", width)
            number = page.locator("input[inputmode=decimal]").first
            number.fill("en halv")
            page.click("button[value=submit]")
            page.wait_for_selector("#error-summary")
            save(page, "form-errors", width)
            context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1])
