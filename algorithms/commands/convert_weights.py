"""``minicnn convert-weights``: a torchvision VGG16/VGG19 ``.pth`` -> an ``.npz`` that loads without torch."""
from __future__ import annotations

import argparse
import os
import time

from algorithms.commands._help import HelpFormatter

EPILOG = """\
examples:
  minicnn convert-weights vgg19-dcbb9e9d.pth               # -> the default place, found automatically
  minicnn convert-weights vgg16-397923af.pth -o vgg16.npz

Without -o the file goes where `minicnn style` / `minicnn dream` (and minicnn.models.vgg19())
look by default: $MINICNN_CACHE_DIR/vgg19.npz, else ~/.cache/minicnn/vgg19.npz. Reading a .pth
needs torch (pip install torch); the .npz needs only NumPy.
"""


def default_output(arch):
    from minicnn.models import vgg
    return os.path.join(vgg._cache_dir(), f"{arch}.npz")


def run(args):
    from algorithms.common.files import check_input_file, check_output_path
    from minicnn.models import vgg

    src = check_input_file(args.input, "input")
    if args.output is not None and args.output_pos is not None and args.output != args.output_pos:
        raise ValueError(f"give the output once: -o {args.output!r} and {args.output_pos!r} differ")
    out = args.output or args.output_pos
    if out is not None:
        check_output_path(out, "output")
        if not str(out).lower().endswith(".npz"):
            raise ValueError(f"output {str(out)!r} must end in .npz")
    with open(src, "rb") as f:
        head = f.read(4)
    if str(src).lower().endswith(".npz"):
        raise ValueError(f"input {str(src)!r} is already an .npz; give a torchvision .pth file")
    if not (head.startswith(b"PK") or head[:1] == b"\x80"):
        raise ValueError(f"input {str(src)!r} is not a torch state_dict file (starts with {head!r}); "
                         "expected torchvision's vgg19-dcbb9e9d.pth or vgg16-397923af.pth")
    try:
        import torch  # noqa: F401
    except ImportError:
        raise RuntimeError("reading a .pth file needs torch: pip install torch (the CPU build is enough); "
                           "the converted .npz then loads without it") from None
    if out is None:
        state = None
        arch = args.arch
        if arch is None:
            from minicnn import serialization
            state = serialization.load(str(src))
            arch = vgg._guess_arch(state.keys())[0]
            if arch is None:
                raise ValueError(f"input {str(src)!r} does not look like VGG16/VGG19 weights; pass --arch")
        out = default_output(arch)
        check_output_path(out, "output")
    if os.path.exists(out) and not args.force:
        raise ValueError(f"output {str(out)!r} exists; pass --force to overwrite it")
    t0 = time.perf_counter()
    try:
        info = vgg.convert_weights(str(src), str(out), arch=args.arch)
    except vgg.VGGWeightsError as e:
        raise ValueError(str(e).splitlines()[0] + " " + " ".join(l.strip() for l in str(e).splitlines()[1:2]))
    print(f"wrote {info['path']}: {info['arch']}, {info['tensors']} tensors, {info['parameters'] / 1e6:.1f} M "
          f"parameters ({time.perf_counter() - t0:.1f} s)")
    return 0


def register(sub):
    p = sub.add_parser("convert-weights", help="convert torchvision VGG weights (.pth) to .npz (no torch needed)",
                       description="Convert a torchvision VGG16/VGG19 state_dict (.pth, read with torch) to an "
                                   ".npz that minicnn loads without torch. The file is checked against "
                                   "torchvision's shapes before anything is written, and written atomically.",
                       epilog=EPILOG, formatter_class=HelpFormatter)
    p.add_argument("input", metavar="IN.pth", help="torchvision weights file, e.g. vgg19-dcbb9e9d.pth")
    p.add_argument("output_pos", metavar="OUT.npz", nargs="?", default=None,
                   help="output file (same as -o)")
    p.add_argument("-o", "--output", default=None, metavar="OUT.npz",
                   help="output file; default: the place minicnn looks in by default "
                        "(~/.cache/minicnn/vgg19.npz or vgg16.npz)")
    p.add_argument("--arch", choices=("vgg16", "vgg19"), default=None,
                   help="architecture; default: guessed from the number of conv layers")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no messages but the result line (same as minicnn --quiet)")
    p.set_defaults(func=run)
