"""The browser UI: its jobs without a browser, then the real page in headless chromium.

The browser test starts the Gradio app on 127.0.0.1 (a free port) in this process, opens
it in Debian's chromium driven by Playwright, refuses a bad upload, runs the denoiser on
the sample image and checks that the result image appears with its numbers. It skips,
printing why, where gradio, playwright or /usr/bin/chromium is missing (CI installs
chromium; `make test` installs gradio and playwright). Set MINICNN_UI_SCREENSHOT=path to
keep a screenshot of the page with its result (docs/ui.png is made that way).
"""
from __future__ import annotations

import importlib.util
import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from algorithms.ui import jobs

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def rednet_weights(tmp_path_factory):
    """The shipped grayscale sigma-25 denoiser if it exists, else a small fixed-seed RED-Net file.

    The small one denoises poorly but runs the same code; the tests below assert only what
    holds for both (the result exists, has the input's size, and the numbers are shown).
    """
    from algorithms import denoising as D
    try:
        return str(D.shipped_weights(False, 25.0)[0])
    except FileNotFoundError:
        path = tmp_path_factory.mktemp("rednet") / "tiny.npz"
        D.save_weights(D.build_model(depth=4, channels=1, features=8, seed=0), path, sigma=25.0)
        return str(path)


# --- jobs, no browser ---------------------------------------------------------------------------------

def test_check_upload_refuses_non_images_and_huge_images(tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_text("this is not an image")
    with pytest.raises(ValueError, match="is not an image"):
        jobs.check_upload(str(fake))
    from PIL import Image
    big = tmp_path / "big.png"
    Image.new("RGB", (300, 200)).save(big)
    with pytest.raises(ValueError, match=r"too large: 300x200 px"):
        jobs.check_upload(str(big), max_pixels=50_000)
    assert jobs.check_upload(str(big)) == (300, 200)
    with pytest.raises(ValueError, match="no image given"):
        jobs.check_upload(None)


def test_denoise_job_scores_and_reports_progress(tmp_path, rednet_weights):
    src = jobs.sample_path("camera", tmp_path)
    seen = []
    r = jobs.run_denoise(src, sigma=25, size=64, tile=32, weights=rednet_weights, workdir=tmp_path,
                         report=lambda f, t, p=None: seen.append(f))
    from PIL import Image
    with Image.open(r.image) as im:
        assert im.size == (64, 64)
    names = dict(r.numbers)
    noisy_db = float(names["PSNR noisy"].split(" dB")[0])
    assert 19.0 < noisy_db < 22.0                       # sigma 25 noise on [0, 1] images: about 20.2 dB
    assert "PSNR RED-Net" in names and "noisy input" in r.extra
    assert seen[0] < 0.1 and seen[-1] == 1.0 and seen == sorted(seen)   # monotone progress, 4 tiles
    assert len(seen) >= 6


def test_denoise_job_stops_on_request(tmp_path, rednet_weights):
    stop = jobs.Stop()
    stop.request()
    with pytest.raises(jobs.Cancelled):
        jobs.run_denoise(jobs.sample_path("camera", tmp_path), size=64, weights=rednet_weights,
                         workdir=tmp_path, stop=stop)


def test_dream_job_cancel_keeps_the_image_so_far(tmp_path):
    stop = jobs.Stop()
    steps = []

    def report(fraction, text, preview=None):
        steps.append(text)
        if text.startswith("octave 1/1, step 2/"):
            stop.request()                                  # Cancel pressed during step 2

    r = jobs.run_dream(jobs.sample_path("astronaut", tmp_path), layer="relu3_1", size=40, octaves=1, steps=6,
                       vgg_weights="random", workdir=tmp_path, report=report, stop=stop)
    assert r.interrupted and "Cancelled" in r.markdown()
    assert dict(r.numbers)["steps"] == "2"                  # stopped after the step in progress
    from PIL import Image
    with Image.open(r.image) as im:
        assert im.size == (40, 40)


def test_job_options_are_checked_before_work(tmp_path):
    src = jobs.sample_path("camera", tmp_path)
    with pytest.raises(ValueError, match="noise sigma must be a number from 0 to 100, got 500"):
        jobs.run_denoise(src, sigma=500, workdir=tmp_path)
    with pytest.raises(ValueError, match="layer must be one of"):
        jobs.run_dream(src, layer="fc7", workdir=tmp_path)
    with pytest.raises(ValueError, match="scale must be one of 2, 3, 4"):
        jobs.run_upscale(src, scale=5, workdir=tmp_path)


def test_result_markdown_shows_notes_and_numbers():
    r = jobs.JobResult(image="x.png", numbers=[("PSNR", "30.00 dB")], notes=["RANDOM weights"], interrupted=True)
    md = r.markdown()
    assert "**Note:** RANDOM weights" in md and "| PSNR | 30.00 dB |" in md and "Cancelled" in md


# --- the real page in headless chromium ------------------------------------------------------------------

def _browser_missing():
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium; CI installs it)"
    for mod, pkg in (("gradio", "minicnn[ui]"), ("playwright", "playwright")):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed (pip install '{pkg}'; `make test` installs it)"
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
def test_ui_denoises_a_sample_in_a_real_browser(tmp_path, rednet_weights):
    reason = _browser_missing()
    if reason:
        print(f"SKIP browser test: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    from algorithms.ui.app import launch

    port = _free_port()
    app = launch("127.0.0.1", port, denoise_weights=rednet_weights, block=False, quiet=True,
                 workdir=str(tmp_path / "ui"))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            page.get_by_role("tab", name="Denoise").click()
            page.wait_for_selector("#denoise-run", state="visible", timeout=30_000)

            size = page.locator("#denoise-size input[type=number]")
            size.fill("128")
            size.press("Enter")
            t0 = time.perf_counter()
            page.click("#denoise-run")
            page.wait_for_function(
                "() => { const i = document.querySelector('#denoise-result img');"
                " return i && i.complete && i.naturalWidth > 0; }", timeout=60_000)
            page.wait_for_function("document.querySelector('#denoise-status').innerText.includes('Done')",
                                   timeout=30_000)
            seconds = time.perf_counter() - t0
            width = page.evaluate("document.querySelector('#denoise-result img').naturalWidth")
            numbers = page.locator("#denoise-numbers").inner_text()
            shot = os.environ.get("MINICNN_UI_SCREENSHOT")
            if shot:
                Path(shot).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=shot, full_page=True)
            # a bad upload: a text file named .png is refused with a clear message in the page
            fake = tmp_path / "not_an_image.png"
            fake.write_text("hello")
            page.set_input_files("#denoise-upload input[type=file]", str(fake))
            page.wait_for_function(
                "document.querySelector('#denoise-message').innerText.includes('Upload refused')", timeout=20_000)
            assert "is not an image" in page.locator("#denoise-message").inner_text()
            # a file over the upload limit: the server refuses it and the page says why
            big = tmp_path / "huge.png"
            with open(big, "wb") as f:
                f.truncate(21 * 1024 * 1024)
            page.set_input_files("#denoise-upload input[type=file]", str(big))
            page.get_by_text("exceed the maximum allowed size of 20.0 Mb").first.wait_for(timeout=20_000)
            browser.close()
    finally:
        app.close()
    assert width == 128                                   # the sample, resized to the chosen size
    assert "PSNR RED-Net" in numbers and "PSNR noisy" in numbers
    noisy_db = float(numbers.split("PSNR noisy")[1].split("dB")[0].strip())
    assert 19.0 < noisy_db < 22.0
    assert seconds < 60
