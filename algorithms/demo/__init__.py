"""The ``minicnn demo`` gallery: every algorithm on built-in images, one HTML page (see gallery.py)."""
from algorithms.demo.gallery import PROFILES, SECTIONS, run_gallery, run_section
from algorithms.demo.page import Figure, Section, Table, render_page, write_page

__all__ = ["run_gallery", "run_section", "PROFILES", "SECTIONS", "Figure", "Section", "Table", "render_page",
           "write_page"]
