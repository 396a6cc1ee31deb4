"""The four image algorithms built only on minicnn, plus the command line and browser UI."""
