"""Make docs/ui.png: the Denoise tab after a run on the 'camera' sample at 256 px.

    python -m algorithms.ui.screenshot docs/ui.png

Needs gradio, playwright and Debian's chromium (/usr/bin/chromium), as the browser test does.
"""
from __future__ import annotations

import socket
import sys
import tempfile
import time

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def main(out="docs/ui.png", width=896, height=1150):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from algorithms.ui.app import launch
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        app = launch("127.0.0.1", port, block=False, quiet=True, workdir=tmp)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
                page.get_by_role("tab", name="Denoise").click()
                size = page.locator("#denoise-size input[type=number]")
                size.fill("256")
                size.press("Enter")
                page.click("#denoise-run")
                page.wait_for_function("document.querySelector('#denoise-status').innerText.includes('Done')",
                                       timeout=120_000)
                time.sleep(1)
                raw = f"{tmp}/raw.png"
                page.screenshot(path=raw, full_page=True)
                browser.close()
        finally:
            app.close()
        im = Image.open(raw).convert("RGB")
        im = im.crop((0, 0, im.width, min(im.height, height)))         # the page down to the numbers
        im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
        im.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
