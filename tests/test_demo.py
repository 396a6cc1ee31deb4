"""``minicnn demo``: the gallery page at tiny sizes (--quick), and its behaviour when a section fails."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from algorithms import cli
from algorithms.demo import gallery
from algorithms.demo.page import Figure, Section, Table, render_page, write_page


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.sections = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a["src"])
        if tag == "section":
            self.sections.append(a.get("id"))


def _numbers(html, key):
    """The text of the numbers-table cell for ``key`` (first match)."""
    m = re.search(rf"<tr><th>{re.escape(key)}</th><td>(.*?)</td></tr>", html)
    assert m, f"no number {key!r} on the page"
    return m.group(1)


@pytest.fixture(scope="module")
def quick_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code = cli.main(["demo", "--quick", "--quiet", "-o", str(out)])
    return out, code, (out / "index.html").read_text(encoding="utf-8")


def test_quick_demo_renders_every_algorithm(quick_page):
    out, code, html = quick_page
    failed = re.findall(r'<div class="error">(.*?)</div>', html)
    assert code == 0 and not failed, failed
    links = _Links()
    links.feed(html)
    assert links.sections == ["style", "dream", "denoise", "upscale"]
    assert len(links.imgs) >= 20
    for src in links.imgs:                                  # relative links to files next to the page
        assert not src.startswith(("/", "http")) and (out / src).is_file(), src
    assert html.count('class="status ok"') == 4


def test_quick_demo_numbers_are_measured_and_honest(quick_page):
    out, _, html = quick_page
    # the VGG weights are stated, and a random network is called out in a warning box
    vgg = _numbers(html, "VGG19 weights")
    assert vgg.startswith(("pretrained", "RANDOM"))
    if vgg.startswith("RANDOM"):
        assert html.count("The VGG19 weights are RANDOM") == 2      # style and dream sections
    # style transfer: the loss went down; the time per iteration is given
    first, best = (float(v) for v in re.match(r"([\d.e+-]+) -&gt; ([\d.e+-]+)", _numbers(html, "total loss")).groups())
    assert best < first
    assert re.search(r"s per iteration", html) and re.search(r"s per step", html)
    # denoising: sigma 25 noise on [0, 1] gives about 20.2 dB; every method is scored
    rows = dict(re.findall(r"<tr(?: class=\"hl\")?><td>([^<]+)</td><td class=\"num\">([\d.]+)</td>", html))
    assert 19.0 < float(rows["noisy input"]) < 22.0
    for m in ("Gaussian filter", "non-local means", "RED-Net (minicnn)"):
        assert m in rows
    assert float(rows["non-local means"]) > float(rows["noisy input"])
    shipped = "shipped weights" in _numbers(html, "model")
    if shipped:                 # a trained model beats the noisy input by a wide margin
        assert float(rows["RED-Net (minicnn)"]) > float(rows["noisy input"]) + 3
    else:
        assert "trained inside the demo" in html
    # super-resolution: bicubic beats nearest neighbour; each network is compared with bicubic
    assert float(rows["bicubic"]) > float(rows["nearest"])
    assert "dB vs bicubic" in html
    assert "backend</th><td>numpy" in html


def test_a_failing_section_shows_its_error_and_the_others_render(tmp_path, monkeypatch, capsys):
    def ok(ctx):
        from PIL import Image
        d = ctx.folder("dream")
        Image.new("RGB", (8, 8), "red").save(d / "result.png")
        return Section("dream", "Deep dream", figures=[Figure("dream/result.png", "a red square")],
                       numbers=[("objective", "1 -> 2")])

    def broken(ctx):
        raise RuntimeError("the network exploded\nsecond line")

    monkeypatch.setitem(gallery.SECTIONS, "dream", ok)
    monkeypatch.setitem(gallery.SECTIONS, "upscale", broken)
    code = cli.main(["demo", "--only", "dream,upscale", "-o", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "1 section(s) failed: upscale (RuntimeError: the network exploded)" in err
    html = (tmp_path / "index.html").read_text()
    assert '<div class="error">RuntimeError: the network exploded</div>' in html
    assert "<summary>traceback</summary>" in html and "second line" in html
    assert 'src="dream/result.png"' in html and html.count('class="status ok"') == 1
    assert "1 of 2 sections failed" in html


def test_page_escapes_text_and_drops_missing_images(tmp_path):
    s = Section("x", "<script>alert(1)</script>", figures=[Figure("nothere.png", "gone")],
                table=Table(["method", "PSNR"], [["a&b", "30.00"]]))
    page = write_page(tmp_path, [s], title="t <b>")
    html = page.read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html and "a&amp;b" in html
    assert "nothere.png" not in re.sub(r'<div class="warn">.*?</div>', "", html)
    assert "image nothere.png (gone) was not written" in html
    assert render_page([], title="empty").startswith("<!DOCTYPE html>")
