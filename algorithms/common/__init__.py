"""Pieces every algorithm shares: progress bars, checkpoints, plots, Ctrl-C handling."""
