"""One module per ``minicnn`` subcommand, each with ``register(subparsers)``."""
