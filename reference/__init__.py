"""PyTorch twins of minicnn's ops, models and algorithms, used by the tests to prove equality."""
