"""Backend benchmarks: minicnn (NumPy/CuPy) vs torch (CPU/CUDA), tables, JSON and plots."""
