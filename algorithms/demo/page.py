"""The gallery page: one self-contained ``index.html`` with images as files next to it.

A page is a list of ``Section``s, one per algorithm. Each section carries what a
reader needs to judge the result without reading code: the inputs and the result
(``figures``), the key numbers (``numbers`` and an optional ``table``), the curves
(``plots``), warnings that must not be missed (random VGG weights, weights trained
in the demo itself) and, when the section failed, its one-line error with the
traceback folded away underneath. Images are referenced by relative links, so the
folder can be moved or zipped as a whole.

Everything shown is escaped (``html.escape``); the page needs no JavaScript and no
network (no fonts, scripts or styles from elsewhere).
"""
from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

from algorithms.common.files import atomic_path

__all__ = ["Figure", "Table", "Section", "write_page", "render_page"]


@dataclass
class Figure:
    """An image file shown on the page: ``path`` relative to the page's folder."""
    path: str
    caption: str = ""


@dataclass
class Table:
    """A small table of numbers: ``header`` names the columns, ``rows`` hold already formatted cells."""
    header: list
    rows: list
    caption: str = ""
    highlight: str | None = None    # first cell of the row to show in bold (e.g. the network's row)


@dataclass
class Section:
    key: str                       # 'style', 'dream', 'denoise', 'upscale'
    title: str
    summary: str = ""              # one paragraph: what the algorithm does here
    figures: list = field(default_factory=list)
    numbers: list = field(default_factory=list)    # [(name, value)] already formatted
    table: Table | None = None
    plots: list = field(default_factory=list)
    warnings: list = field(default_factory=list)   # shown in a box that cannot be missed
    notes: list = field(default_factory=list)
    command: str = ""              # the equivalent `minicnn ...` command line
    error: str | None = None       # one line; the section failed
    details: str | None = None     # the traceback of the failure
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f6f4;color:#222}
header{background:#263238;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px 0;font-size:24px} header p{margin:2px 0;color:#cfd8dc;font-size:14px}
main{max-width:1200px;margin:0 auto;padding:10px 24px 40px}
nav{margin:14px 0} nav a{margin-right:14px}
section{background:#fff;border:1px solid #ddd;border-radius:8px;padding:16px 22px;margin:18px 0}
section h2{margin-top:4px} .status{font-size:13px;padding:2px 8px;border-radius:10px;margin-left:8px}
.ok{background:#e8f5e9;color:#1b5e20} .failed{background:#ffebee;color:#b71c1c}
.warn{background:#fff3e0;border-left:5px solid #ef6c00;padding:8px 12px;margin:10px 0}
.error{background:#ffebee;border-left:5px solid #c62828;padding:8px 12px;margin:10px 0;font-family:monospace}
.figs{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure{margin:0;max-width:100%} figure img{max-width:100%;border:1px solid #ccc}
figure img.pic{height:230px;width:auto;image-rendering:pixelated} figure img.plot{height:auto}
figcaption{font-size:13px;color:#555;max-width:300px}
table{border-collapse:collapse;margin:8px 0;font-size:14px} caption{text-align:left} td,th{border:1px solid #ddd;padding:4px 10px}
th{background:#eceff1;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.hl td{font-weight:bold;background:#f1f8e9}
code,pre{background:#f0f0f0;border-radius:4px} code{padding:1px 4px} pre{padding:8px;overflow-x:auto}
details{margin-top:8px} .small{font-size:13px;color:#555}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _link(path) -> str:
    """A relative link with forward slashes, each part URL-safe."""
    from urllib.parse import quote
    return quote(str(path).replace(os.sep, "/"))


def _figure(f: Figure, width=None) -> str:
    """An image with its caption; pictures share one display height (small ones enlarged, pixels kept
    sharp, so results of different sizes compare side by side), plots keep their own size."""
    attrs = f' class="plot" style="max-width:{int(width)}px"' if width else ' class="pic"'
    return (f'<figure><a href="{_link(f.path)}"><img src="{_link(f.path)}" alt="{_e(f.caption)}"{attrs}></a>'
            f"<figcaption>{_e(f.caption)}</figcaption></figure>")


def _is_number(cell) -> bool:
    s = str(cell).replace(" dB", "").replace(" s", "").replace("%", "").strip()
    try:
        float(s.split(" ")[0])
        return True
    except ValueError:
        return False


def _table(t: Table) -> str:
    out = ["<table>"]
    if t.caption:
        out.append(f"<caption class='small'>{_e(t.caption)}</caption>")
    out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in t.header) + "</tr>")
    for row in t.rows:
        cls = ' class="hl"' if t.highlight is not None and row and str(row[0]) == t.highlight else ""
        out.append(f"<tr{cls}>" + "".join(
            f'<td class="num">{_e(c)}</td>' if i and _is_number(c) else f"<td>{_e(c)}</td>"
            for i, c in enumerate(row)) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _section(s: Section) -> str:
    badge = (f'<span class="status ok">ok, {s.seconds:.1f} s</span>' if s.ok
             else '<span class="status failed">FAILED</span>')
    out = [f'<section id="{_e(s.key)}">', f"<h2>{_e(s.title)}{badge}</h2>"]
    if s.summary:
        out.append(f"<p>{_e(s.summary)}</p>")
    for w in s.warnings:
        out.append(f'<div class="warn"><b>Note:</b> {_e(w)}</div>')
    if s.error is not None:
        out.append(f'<div class="error">{_e(s.error)}</div>')
        if s.details:
            out.append(f"<details><summary>traceback</summary><pre>{_e(s.details)}</pre></details>")
    if s.figures:
        out.append('<div class="figs">' + "".join(_figure(f) for f in s.figures) + "</div>")
    if s.numbers:
        out.append("<h3>Numbers</h3><table>" + "".join(
            f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in s.numbers) + "</table>")
    if s.table is not None:
        out.append(_table(s.table))
    if s.plots:
        out.append("<h3>Curves</h3>")
        out.append('<div class="figs">' + "".join(_figure(f, 640) for f in s.plots) + "</div>")
    for n in s.notes:
        out.append(f'<p class="small">{_e(n)}</p>')
    if s.command:
        out.append(f'<p class="small">Run it yourself: <code>{_e(s.command)}</code></p>')
    out.append("</section>")
    return "\n".join(out)


def render_page(sections, title="minicnn demo", facts=()) -> str:
    """The HTML text of the page. ``facts``: [(name, value)] shown in the header (backend, time...)."""
    failed = [s for s in sections if not s.ok]
    head = [f"<p>{_e(k)}: {_e(v)}</p>" for k, v in facts]
    if failed:
        head.append(f"<p><b>{len(failed)} of {len(sections)} sections failed: "
                    f"{_e(', '.join(s.title for s in failed))}</b></p>")
    nav = " ".join(f'<a href="#{_e(s.key)}">{_e(s.title)}</a>' + ("" if s.ok else " (failed)")
                   for s in sections)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>{''.join(head)}</header>", "<main>", f"<nav>{nav}</nav>",
        *(_section(s) for s in sections), "</main></body></html>", ""])


def write_page(folder, sections, title="minicnn demo", facts=(), name="index.html") -> Path:
    """Write ``folder/index.html`` atomically; returns its path.

    A figure whose file is missing is dropped from its section with a warning saying so
    (the page never shows a broken image).
    """
    folder = Path(folder)
    for s in sections:
        for attr in ("figures", "plots"):
            kept = []
            for f in getattr(s, attr):
                if (folder / f.path).is_file():
                    kept.append(f)
                else:
                    s.warnings.append(f"image {f.path} ({f.caption}) was not written")
            setattr(s, attr, kept)
    path = folder / name
    with atomic_path(path, suffix=".html") as tmp:
        Path(tmp).write_text(render_page(sections, title, facts), encoding="utf-8")
    return path
