"""``minicnn ui``: a local web app (Gradio) with one tab per algorithm."""
from __future__ import annotations

import argparse

from algorithms.commands._help import HelpFormatter


def _port(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number 0-65535, got {text!r}") from None
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0-65535, got {v}")
    return v


def run(args):
    import importlib.util
    import socket

    from algorithms.common.files import check_input_file
    from minicnn import backend

    if importlib.util.find_spec("gradio") is None:
        raise RuntimeError("the UI needs gradio: pip install 'minicnn[ui]' (or run `make ui`, which installs it)")
    if args.weights:
        check_input_file(args.weights, "weights")
    backend.get_backend(args.backend)
    if args.port:
        with socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET) as s:
            try:
                s.bind((args.host, args.port))
            except OSError as e:
                raise ValueError(f"--host {args.host} --port {args.port}: cannot listen there ({e.strerror}); "
                                 "pick another --port") from None
    from algorithms.ui.app import launch
    if not args.quiet:
        print(f"minicnn ui: starting on http://{args.host}:{args.port or 'a free port'} (Ctrl-C to stop)")
    launch(host=args.host, port=args.port or None, backend=args.backend, vgg_weights=args.weights, block=True,
           quiet=args.quiet)
    return 0


def register(sub):
    p = sub.add_parser("ui", help="start the browser UI (one tab per algorithm)",
                       description="Start a local web app (Gradio) to run every algorithm on sample images or "
                                   "your own uploads, with progress, cancel, downloads and numbers. Needs the "
                                   "'ui' extra: pip install 'minicnn[ui]'.",
                       formatter_class=HelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 exposes it to the network)")
    p.add_argument("--port", type=_port, default=7860, help="port (0: a free one)")
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy", help="array backend")
    p.add_argument("--weights", default=None, metavar="FILE",
                   help="VGG19 weights for style transfer and deep dream; default: the default weights file, "
                        "else random weights (the page says so)")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no messages (same as minicnn --quiet)")
    p.set_defaults(func=run)
