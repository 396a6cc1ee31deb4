"""Comma-separated option values (image names, sigmas, factors), parsed one way for every subcommand."""
from __future__ import annotations


def comma_list(text):
    """'a, b,,c' -> ('a', 'b', 'c'); None or '' -> ()."""
    return tuple(v.strip() for v in (text or "").split(",") if v.strip())


def word_list(values):
    """Names separated by commas and/or spaces, from one string or several (an nargs option):
    'relu3_1, relu4_2' or ['relu3_1,relu4_2', 'pool4'] -> ('relu3_1', 'relu4_2', 'pool4')."""
    if isinstance(values, str):
        values = [values]
    return tuple(v for item in values for v in item.replace(",", " ").split())


def comma_numbers(text, option):
    """Floats of a comma-separated option value; anything else is a one-line error naming ``option``."""
    try:
        return tuple(float(v) for v in comma_list(text))
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, got {text!r}") from None
