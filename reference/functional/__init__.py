"""Torch twins of minicnn.functional, one module per minicnn/functional module."""
