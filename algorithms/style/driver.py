"""The optimisation loop of style transfer, shared by the minicnn algorithm and its torch twin.

The loop never touches numbers itself: an *engine* (``algorithms/style_transfer.py``
for minicnn, ``reference/style_transfer.py`` for torch) computes the losses and
builds the optimiser, and this module drives it the same way for both:

    for each scale (coarse to fine):
        targets = engine.targets(content, styles)     # content features, blended Gram matrices
        x = initial image (content / noise / a file, or the previous scale's best, upsampled)
        for k in 0 .. iters-1:
            optimizer.step(closure)                    # closure: losses at x, backward, record
        evaluate the last point x_iters (no gradient needed)

One ``step`` is one iteration: L-BFGS is built with ``max_iter=1`` and its history
carries over between steps, so this is exactly torch's ``LBFGS(max_iter=iters)`` run
in one call, but the loop regains control after each iteration to update the progress
bar, save intermediate images and honour Ctrl-C. The tolerances are -1, as in the
original Lua neural-style, so a run always makes ``iters`` iterations.

The record holds, for every accepted image x_0 (the initial image), x_1, ..., x_iters,
its total loss and the three terms. Without a line search each iteration evaluates
the losses once, at x_k; with ``line_search='strong_wolfe'`` the trial points of the
line search are evaluated too (they count in ``evaluations``) and the evaluation at
the accepted point is reused rather than repeated.

The *best* image is the recorded image with the lowest total loss at the last scale
reached; it is what is returned and saved, also after Ctrl-C.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field

from algorithms.common.interrupt import StopOnInterrupt
from algorithms.common.plots import plot_curves
from algorithms.common.progress import fmt, progress, status

LOSS_NAMES = ("total", "content", "style", "tv")


@dataclass
class StyleResult:
    """What one style-transfer run returns.

    image       (H, W, 3) NumPy array in [0, 1] of the run's dtype: the best image (lowest total loss at the last
                scale reached), with ``original_colors`` applied when asked.
    last_image  the image where the optimiser stopped (same post-processing).
    history     lists, one entry per recorded image: scale, iteration, total, content,
                style, tv (the weighted terms, total = content + style + tv), seconds.
    """
    image: object
    last_image: object
    history: dict
    best_loss: float
    best_iteration: int
    interrupted: bool
    evaluations: int
    seconds: float
    pretrained: bool
    sizes: list
    files: dict = field(default_factory=dict)

    @property
    def first_loss(self) -> float:
        return self.history["total"][0] if self.history["total"] else math.nan

    @property
    def last_loss(self) -> float:
        return self.history["total"][-1] if self.history["total"] else math.nan


class _Memo:
    """The last evaluation (image, gradient, losses), reused when L-BFGS asks for the same point."""
    x = grad = total = parts = None


def intermediate_path(output, iteration, scale=None):
    stem, suffix = os.path.splitext(str(output))
    tag = f"_s{scale}" if scale is not None else ""
    return f"{stem}{tag}_{iteration:05d}{suffix}"


def default_plot_path(output):
    stem, _ = os.path.splitext(str(output))
    return f"{stem}_losses.png"


def run(engine, opts, plan, save_image, stop=None, callback=None):
    """Optimise; returns a StyleResult. ``save_image(path, hwc_array)`` writes an image atomically."""
    history = {k: [] for k in ("scale", "iteration", *LOSS_NAMES, "seconds")}
    result_files = {"intermediate": []}
    n_scales = len(plan.scales)
    bar = progress(opts.iters * n_scales, "style", unit="it") if opts.progress else None
    t0 = time.perf_counter()
    evaluations = 0
    interrupted = False
    best = last = current = None
    current_index = 0
    best_loss, best_iteration = math.inf, -1

    own_stop = stop is None
    ctx = StopOnInterrupt("best image so far") if own_stop else contextlib.nullcontext(stop)
    with ctx as stopper:
        for s, scale in enumerate(plan.scales):
            h, w = scale.hw
            if bar is not None:
                bar.set_description(f"style {w}x{h}" + (f" ({s + 1}/{n_scales})" if n_scales > 1 else ""))
            targets = engine.targets(scale.content, scale.styles, plan.blend)
            if s == 0:
                x = engine.new_image(plan.init if plan.init is not None else scale.content)
            else:
                x = engine.upsample(best, (h, w))
            opt = engine.make_optimizer(x)
            memo = _Memo() if opts.line_search is not None else None
            best, best_loss, best_iteration = None, math.inf, -1
            state = {"k": 0, "first": False}

            def record(parts):
                nonlocal best, best_loss, best_iteration
                k = state["k"]
                values = [float(v.detach()) if hasattr(v, "detach") else float(v) for v in parts]
                history["scale"].append(s)
                history["iteration"].append(k)
                for name, v in zip(LOSS_NAMES, values):
                    history[name].append(v)
                history["seconds"].append(time.perf_counter() - t0)
                if values[0] < best_loss or best is None:
                    best, best_loss, best_iteration = engine.copy(x), values[0], k
                if bar is not None:
                    bar.set_postfix(fmt(dict(zip(("loss", "content", "style", "tv"), values)), 3),
                                    refresh=False)
                if opts.output and opts.save_every and k and k % opts.save_every == 0:
                    path = intermediate_path(opts.output, k, s if n_scales > 1 else None)
                    save_image(path, engine.to_image(engine.copy(x), scale.content))
                    result_files["intermediate"].append(path)
                if callback is not None:
                    callback({"scale": s, "iteration": k, **dict(zip(LOSS_NAMES, values))},
                             lambda: engine.to_image(engine.copy(x), scale.content))

            def closure():
                nonlocal evaluations
                if memo is not None and memo.x is not None and engine.same(x, memo.x):
                    engine.set_grad(x, memo.grad)
                    parts = memo.parts
                else:
                    opt.zero_grad()
                    parts = engine.losses(x, targets)
                    parts[0].backward()
                    evaluations += 1
                    if memo is not None:
                        memo.x, memo.grad, memo.parts = engine.copy(x), engine.grad_copy(x), parts
                if state["first"]:  # the first call of a step evaluates the accepted point x_k
                    state["first"] = False
                    record(parts)
                return parts[0]

            for k in range(opts.iters):
                if stopper.requested:
                    interrupted = True
                    break
                state["k"], state["first"] = k, True
                opt.step(closure)
                if bar is not None:
                    bar.update(1)
            else:
                state["k"] = opts.iters
                if memo is not None and memo.x is not None and engine.same(x, memo.x):
                    parts = memo.parts
                else:
                    with engine.no_grad():
                        parts = engine.losses(x, targets)
                    evaluations += 1
                state["first"] = True
                record(parts)
            last, current, current_index = engine.copy(x), scale, s
            if interrupted or stopper.requested:
                interrupted = True
                break

    seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    if best is None:  # interrupted before the first evaluation of this scale
        best = last
    image = engine.to_image(best, current.content)
    last_image = engine.to_image(last, current.content)
    if opts.output:
        save_image(opts.output, image)
        result_files["output"] = str(opts.output)
    if opts.plot and history["total"]:
        plot_losses(opts.plot, history, n_scales)
        result_files["plot"] = str(opts.plot)
    if interrupted:
        where = f"scale {current_index + 1}/{n_scales}, " if n_scales > 1 else ""
        status(f"stopped at {where}iteration {history['iteration'][-1] if history['iteration'] else 0}"
               f"; kept the best image (total loss {best_loss:.4g})"
               + (f" in {opts.output}" if opts.output else ""))
    return StyleResult(image=image, last_image=last_image, history=history, best_loss=best_loss,
                       best_iteration=best_iteration, interrupted=interrupted, evaluations=evaluations,
                       seconds=seconds, pretrained=engine.pretrained,
                       sizes=[sc.hw for sc in plan.scales], files=result_files)


def plot_losses(path, history, n_scales=1):
    """PNG of the four loss curves against the recorded image's index (log scale, zeros dropped)."""
    xs = list(range(len(history["total"])))
    curves = {}
    for name in LOSS_NAMES:
        pts = [(i, v) for i, v in zip(xs, history[name]) if v > 0 and math.isfinite(v)]
        if pts:
            curves[name] = ([p[0] for p in pts], [p[1] for p in pts])
    title = "style transfer losses" + (f" ({n_scales} scales, coarse to fine)" if n_scales > 1 else "")
    label = "iteration" if n_scales == 1 else "iteration (all scales in a row)"
    plot_curves(path, curves, title=title, xlabel=label,
                panels=[["total"], ["content", "style", "tv"]])
    return path


__all__ = ["run", "StyleResult", "plot_losses", "intermediate_path", "default_plot_path"]
