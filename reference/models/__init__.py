"""Torch twins of minicnn.models (same state_dict keys, same computations)."""
