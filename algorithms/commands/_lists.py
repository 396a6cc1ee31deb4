"""Comma-separated option values (image names, sigmas, factors), parsed one way for every subcommand."""
from __future__ import annotations


def comma_list(text):
    """'a, b,,c' -> ('a', 'b', 'c'); None or '' -> ()."""
    return tuple(v.strip() for v in (text or "").split(",") if v.strip())


def comma_numbers(text, option):
    """Floats of a comma-separated option value; anything else is a one-line error naming ``option``."""
    try:
        return tuple(float(v) for v in comma_list(text))
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, got {text!r}") from None
