"""PNG plots of loss and PSNR curves (matplotlib, headless), written atomically."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from algorithms.common.files import atomic_path  # noqa: E402


def plot_curves(path, curves: dict, title="", xlabel="iteration", log_y=True, panels=None):
    """Write one PNG of named curves: {name: (xs, ys)} or {name: ys}.

    ``panels`` groups curve names into side-by-side axes, e.g. [["loss"], ["val_psnr"]].
    """
    panels = panels or [list(curves)]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.8), squeeze=False)
    for ax, names in zip(axes[0], panels):
        for name in names:
            if name not in curves:
                continue
            c = curves[name]
            xs, ys = c if isinstance(c, tuple) else (list(range(len(c))), c)
            if len(ys):
                ax.plot(xs, ys, label=name)
        positive = all(min((c[1] if isinstance(c, tuple) else c) or [1]) > 0 for n, c in curves.items()
                       if n in names)
        if log_y and positive and not any("psnr" in n.lower() for n in names):
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
