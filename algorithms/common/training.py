"""One training loop for the trained models (denoiser, super-resolution), with exact resume.

The loop owns everything that must survive a kill: model weights, optimizer and
scheduler state, the data generator's RNG state, the step counter and the
history of losses and validation scores. A checkpoint holding all of them is
written atomically every ``checkpoint_every`` steps, on Ctrl-C and at the end, so
``resume=True`` continues exactly where a killed run stopped: the same batches,
the same updates, the same final weights as an uninterrupted run with the same seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import minicnn
from algorithms.common.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from algorithms.common.interrupt import StopOnInterrupt
from algorithms.common.progress import fmt, progress, status
from algorithms.common.plots import plot_curves


@dataclass
class TrainConfig:
    steps: int = 1000
    checkpoint: str | None = None        # path of the .npz checkpoint (None: no checkpoints)
    checkpoint_every: int = 100
    validate_every: int = 100
    resume: bool = False
    plot: str | None = None              # PNG of the training curves at the end
    seed: int = 0
    desc: str = "training"


@dataclass
class TrainResult:
    step: int
    history: dict = field(default_factory=dict)
    interrupted: bool = False
    best_val: float = -math.inf


def _state(model, optimizer, scheduler, gen, step, history):
    return {"model": {k: v.data for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "rng": rng_state(gen), "step": step, "history": history}


def _restore(ck, model, optimizer, scheduler, gen):
    model.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    if scheduler is not None and ck.get("scheduler") is not None:
        scheduler.load_state_dict(ck["scheduler"])
    set_rng_state(gen, ck["rng"])
    return int(ck["step"]), ck["history"]


def train(model, optimizer, batch_fn: Callable, loss_fn: Callable, cfg: TrainConfig,
          scheduler=None, validate: Callable | None = None, on_checkpoint: Callable | None = None):
    """Run ``cfg.steps`` optimisation steps.

    ``batch_fn(gen)`` draws one (input, target) pair of Tensors from the numpy
    Generator ``gen``; ``loss_fn(model, x, y)`` returns a scalar Tensor;
    ``validate(model)`` returns a dict of numbers (e.g. {"val_psnr": 28.1}),
    higher ``val_psnr`` being better. Returns a TrainResult.
    """
    gen = np.random.default_rng(cfg.seed)
    step, history = 0, {"step": [], "loss": [], "val_step": []}
    if cfg.resume:
        if not cfg.checkpoint or not Path(cfg.checkpoint).exists():
            raise FileNotFoundError(f"resume: checkpoint {cfg.checkpoint!r} does not exist")
        step, history = _restore(load_checkpoint(cfg.checkpoint), model, optimizer, scheduler, gen)
        status(f"resumed from {cfg.checkpoint} at step {step}")
    if step >= cfg.steps:
        return TrainResult(step, history)

    def save():
        if cfg.checkpoint:
            save_checkpoint(cfg.checkpoint, _state(model, optimizer, scheduler, gen, step, history))
            if on_checkpoint:
                on_checkpoint(step)

    model.train()
    interrupted = False
    bar = progress(cfg.steps, cfg.desc, unit="step")
    bar.update(step)
    postfix = {}
    with StopOnInterrupt("checkpoint") as stop:
        while step < cfg.steps:
            x, y = batch_fn(gen)
            optimizer.zero_grad()
            loss = loss_fn(model, x, y)
            value = loss.item()
            if not math.isfinite(value):
                save()
                raise RuntimeError(f"training diverged at step {step} (loss {value}); lower the "
                                   "learning rate or resume from the last checkpoint")
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            step += 1
            history["step"].append(step)
            history["loss"].append(value)
            postfix["loss"] = value
            if validate is not None and (step % cfg.validate_every == 0 or step == cfg.steps):
                model.eval()
                with minicnn.no_grad():
                    scores = validate(model)
                model.train()
                history["val_step"].append(step)
                for k, v in scores.items():
                    history.setdefault(k, []).append(float(v))
                postfix.update(scores)
            bar.set_postfix(fmt(postfix), refresh=False)
            bar.update(1)
            if cfg.checkpoint and step % cfg.checkpoint_every == 0:
                save()
            if stop.requested:
                interrupted = True
                break
    bar.close()
    save()
    model.eval()
    if cfg.plot:
        curves = {"loss": (history["step"], history["loss"])}
        panels = [["loss"]]
        extra = [k for k in history if k not in ("step", "loss", "val_step")]
        for k in extra:
            curves[k] = (history["val_step"], history[k])
        if extra:
            panels.append(extra)
        plot_curves(cfg.plot, curves, title=cfg.desc, xlabel="step", panels=panels)
    best = max(history.get("val_psnr", [-math.inf]) or [-math.inf])
    return TrainResult(step, history, interrupted, best)
