"""The help formatter every subcommand shares: each option's default is shown after its help."""
from __future__ import annotations

import argparse


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (skipping None/False, whose help says what happens then)."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=36)

    def _get_help_string(self, action):
        text = action.help or ""
        d = action.default
        if "%(default)" in text or d is None or d is False or d is argparse.SUPPRESS or not action.option_strings:
            return text
        return text + " (default: %(default)s)"
