"""The browser UI (Gradio): one tab per algorithm, over the jobs in ``algorithms/ui/jobs.py``.

Each tab: pick a sample image or upload one, set the main options, Run (a progress bar
with the current step; style transfer and deep dream show the image as it develops),
see the result with a download button and the numbers, Cancel a long run (the job
stops at its next step and keeps its best result where that makes sense).

Uploads are checked when they arrive: the server refuses files over ``MAX_UPLOAD_MB``,
and ``jobs.check_upload`` refuses non-images and images over ``MAX_PIXELS``; either
way the page says why in the tab's message line.

Nothing is fetched from the network: no web fonts, no analytics, no share link.
"""
from __future__ import annotations

import os
import tempfile
import threading
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from algorithms.ui import jobs  # noqa: E402

__all__ = ["build_app", "launch", "THEME", "CSS"]

THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])
CSS = ".message{min-height:1.5em} footer{display:none !important}"

SAMPLES = ("astronaut", "camera", "chelsea", "coffee", "coins", "moon", "rocket", "brick", "gravel",
           "immunohistochemistry", "hubble_deep_field")

# running jobs' stop flags, by browser session
_STOPS: dict = {}
_LOCK = threading.Lock()


def _session(request) -> str:
    return getattr(request, "session_hash", None) or "default"


def _fmt_error(exc) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return msg


def _run_job(tab, job, kwargs, request, progress, n_outputs):
    """Run ``job(**kwargs)`` in a thread; relay progress (and previews) to the page; yield the outputs.

    Outputs of every tab: (result image, download file, numbers markdown, plot image, extra gallery, message).
    """
    stop = jobs.Stop()
    key = (_session(request), tab)
    with _LOCK:
        old = _STOPS.get(key)
        if old is not None:
            old.request()
        _STOPS[key] = stop
    state = {"fraction": 0.0, "text": "starting", "preview": None, "new_preview": False,
             "result": None, "error": None}

    def report(fraction, text, preview=None):
        state["fraction"], state["text"] = float(fraction), str(text)
        if preview is not None:
            state["preview"], state["new_preview"] = preview, True

    def work():
        try:
            state["result"] = job(**kwargs, report=report, stop=stop)
        except BaseException as exc:     # noqa: BLE001 -- shown in the page
            state["error"] = exc

    skip = (gr.update(),) * n_outputs
    t = threading.Thread(target=work, name=f"minicnn-ui-{tab}", daemon=True)
    t.start()
    t0 = time.perf_counter()
    try:
        while t.is_alive():
            t.join(0.25)
            progress(state["fraction"], desc=state["text"])
            if state["new_preview"]:
                state["new_preview"] = False
                yield (state["preview"],) + skip[1:5] + (f"running: {state['text']}",)
    finally:
        if t.is_alive():                  # the page went away or Cancel: let the job stop at its next step
            stop.request()
        with _LOCK:
            if _STOPS.get(key) is stop:
                del _STOPS[key]
    if state["error"] is not None:
        exc = state["error"]
        if isinstance(exc, jobs.Cancelled):
            yield skip[:5] + ("Cancelled.",)
            return
        msg = _fmt_error(exc)
        yield skip[:5] + (f"**Error:** {msg}",)
        raise gr.Error(msg, print_exception=False)
    r = state["result"]
    extra = [(p, label) for label, p in r.extra.items()]
    done = f"Done in {time.perf_counter() - t0:.1f} s." + (" (cancelled: best result so far)" if r.interrupted
                                                           else "")
    yield (r.image, r.image, r.markdown(), r.plot, extra or None, done)


def _cancel(tab, request: gr.Request):
    with _LOCK:
        stop = _STOPS.get((_session(request), tab))
    if stop is None:
        return "Nothing is running."
    stop.request()
    return "Cancelling: the run stops after its current step."


def _input_column(tab, default, workdir, label="Input image"):
    """Sample dropdown + upload + the input image shown; returns (image component, message component)."""
    with gr.Row(equal_height=True):
        sample = gr.Dropdown(list(SAMPLES), value=default, label="Sample image (scikit-image)",
                             elem_id=f"{tab}-sample", scale=1)
        upload = gr.File(label=f"...or upload one (at most {jobs.MAX_UPLOAD_MB} MB, "
                               f"{jobs.MAX_PIXELS // 1_000_000} Mpixel)", file_types=["image"], type="filepath",
                         elem_id=f"{tab}-upload", height=120, scale=1)
    image = gr.Image(value=jobs.sample_path(default, workdir), label=label, type="filepath", interactive=False,
                     elem_id=f"{tab}-input", height=220, image_mode=None, format="png")
    message = gr.Markdown("", elem_id=f"{tab}-message", elem_classes=["message"])

    def pick(name):
        return jobs.sample_path(name, workdir), ""

    def uploaded(path):
        if path is None:
            return gr.update(), "", gr.update()
        try:
            w, h = jobs.check_upload(path)
        except ValueError as e:
            return gr.update(), f"**Upload refused:** {e}", None
        return path, f"Using the uploaded image ({w}x{h} px).", gr.update()

    sample.change(pick, sample, [image, message], queue=False)
    upload.upload(uploaded, upload, [image, message, upload], queue=False)
    return image, message


def _output_column(tab, plot=True, extra=False):
    result = gr.Image(label="Result", type="filepath", interactive=False, elem_id=f"{tab}-result", height=360,
                      format="png")
    download = gr.File(label="Download the result", elem_id=f"{tab}-download", interactive=False, height=70)
    numbers = gr.Markdown("", elem_id=f"{tab}-numbers")
    curve = gr.Image(label="Curve", type="filepath", interactive=False, elem_id=f"{tab}-plot", height=260,
                     visible=plot)
    extra = gr.Gallery(label="Compare with", elem_id=f"{tab}-extra", height="auto", columns=3, visible=extra,
                       preview=False, object_fit="contain", allow_preview=True)
    return result, download, numbers, curve, extra


def _buttons(tab, verb):
    with gr.Row():
        run = gr.Button(verb, variant="primary", elem_id=f"{tab}-run")
        cancel = gr.Button("Cancel", variant="stop", elem_id=f"{tab}-cancel")
    return run, cancel


def _wire(tab, run, cancel, fn, inputs, outputs, status):
    """Run button -> fn (queued, with progress); Cancel -> the job's stop flag.

    Cancel does not kill the event: the job stops at the end of its current step and the
    page then shows what it has (style transfer: the best image so far; deep dream: the
    dream so far), marked as cancelled.
    """
    ev = run.click(fn, inputs, outputs, concurrency_id="minicnn-jobs", show_progress_on=[outputs[0]])

    def on_cancel(request: gr.Request):
        return _cancel(tab, request)

    cancel.click(on_cancel, None, status, queue=False)
    return ev


def build_app(backend="numpy", vgg_weights=None, denoise_weights=None, workdir=None):
    """The Gradio Blocks app (not launched).

    ``vgg_weights``: VGG19 file for style transfer and deep dream (None: the default file, else random);
    ``denoise_weights``: a RED-Net .npz used instead of the shipped denoisers (None: shipped).
    """
    workdir = workdir or tempfile.mkdtemp(prefix="minicnn-ui-")
    common = {"backend": backend, "workdir": workdir}
    from minicnn.models.vgg import default_weights_path
    random_vgg = vgg_weights == "random" or (vgg_weights is None and default_weights_path("vgg19") is None)

    with gr.Blocks(title="minicnn") as app:
        gr.Markdown("# minicnn\nFour classic CNN image algorithms on a from-scratch NumPy/CuPy library "
                    f"(backend: **{backend}**). Pick a sample or upload an image, set the options, press the "
                    "button. Long runs can be cancelled."
                    + ("\n\n**VGG19 weights: RANDOM** (no pretrained weights file found): style transfer and "
                       "deep dream run on untrained features. `minicnn convert-weights vgg19-dcbb9e9d.pth` "
                       "once fixes that." if random_vgg else ""))
        with gr.Tabs():
            # --- style transfer ---
            with gr.Tab("Style transfer", id="style", elem_id="tab-style"):
                gr.Markdown("Paint the content image in the style of the style image (Gatys et al.): the image "
                            "is optimised with L-BFGS against VGG19 content and Gram-matrix style losses.")
                with gr.Row():
                    with gr.Column():
                        with gr.Row():
                            with gr.Column(min_width=200):
                                content, _ = _input_column("style", "chelsea", workdir, "Content image")
                            with gr.Column(min_width=200):
                                style_img, _ = _input_column("style-image", "immunohistochemistry", workdir,
                                                             "Style image")
                        size = gr.Slider(32, 512, value=128, step=16, label="Size (longest side, px)", elem_id="style-size")
                        iters = gr.Slider(1, 500, value=40, step=1, label="Iterations", elem_id="style-iters")
                        sw = gr.Number(value=1e8 if random_vgg else 1e6, label="Style weight" + (
                            " (1e8 here: random VGG features have small Gram matrices; 1e6 suits "
                            "pretrained weights)" if random_vgg else ""))
                        colors = gr.Checkbox(value=False, label="Keep the content's colours")
                        seed = gr.Number(value=0, precision=0, label="Seed")
                        run, cancel = _buttons("style", "Transfer style")
                    with gr.Column():
                        outs = _output_column("style")
                        msg = gr.Markdown("", elem_id="style-status", elem_classes=["message"])

                def style_fn(c, s, size, iters, sw, colors, seed, request: gr.Request,
                             progress=gr.Progress()):
                    yield from _run_job("style", jobs.run_style,
                                        dict(content=c, style=s, size=size, iters=iters, style_weight=sw,
                                             original_colors=colors, seed=seed or 0, vgg_weights=vgg_weights,
                                             **common), request, progress, 6)

                _wire("style", run, cancel, style_fn, [content, style_img, size, iters, sw, colors, seed],
                      [*outs, msg], msg)

            # --- deep dream ---
            with gr.Tab("Deep dream", id="dream", elem_id="tab-dream"):
                gr.Markdown("Gradient ascent on the image makes a VGG19 layer respond more strongly, octave "
                            "by octave (Mordvintsev et al.).")
                with gr.Row():
                    with gr.Column():
                        d_img, _ = _input_column("dream", "astronaut", workdir)
                        layer = gr.Dropdown(list(jobs.DREAM_LAYERS), value="relu4_2", label="Layer")
                        d_size = gr.Slider(32, 512, value=192, step=16, label="Size (longest side, px)", elem_id="dream-size")
                        octaves = gr.Slider(1, 6, value=3, step=1, label="Octaves", elem_id="dream-octaves")
                        steps = gr.Slider(1, 40, value=8, step=1, label="Steps per octave", elem_id="dream-steps")
                        step_size = gr.Slider(0.1, 5.0, value=1.5, step=0.1, label="Step size")
                        d_seed = gr.Number(value=0, precision=0, label="Seed")
                        d_run, d_cancel = _buttons("dream", "Dream")
                    with gr.Column():
                        d_outs = _output_column("dream")
                        d_status = gr.Markdown("", elem_id="dream-status", elem_classes=["message"])

                def dream_fn(img, layer, size, octaves, steps, step_size, seed, request: gr.Request,
                             progress=gr.Progress()):
                    yield from _run_job("dream", jobs.run_dream,
                                        dict(src=img, layer=layer, size=size, octaves=octaves, steps=steps,
                                             step_size=step_size, seed=seed or 0, vgg_weights=vgg_weights,
                                             **common), request, progress, 6)

                _wire("dream", d_run, d_cancel, dream_fn, [d_img, layer, d_size, octaves, steps, step_size, d_seed],
                      [*d_outs, d_status], d_status)

            # --- denoising ---
            with gr.Tab("Denoise", id="denoise", elem_id="tab-denoise"):
                gr.Markdown("Remove Gaussian noise with RED-Net. With 'add noise first' the image is taken as "
                            "clean: noise is added, removed, and the result is scored against the original.")
                with gr.Row():
                    with gr.Column():
                        n_img, _ = _input_column("denoise", "camera", workdir)
                        add = gr.Checkbox(value=True, label="Add noise first (and measure PSNR)")
                        sigma = gr.Slider(0, 75, value=25, step=1, label="Noise sigma (0-255 scale)", elem_id="denoise-sigma")
                        n_size = gr.Slider(64, 2048, value=512, step=32, label="Size (longest side, px)", elem_id="denoise-size")
                        n_seed = gr.Number(value=0, precision=0, label="Seed of the noise")
                        n_run, n_cancel = _buttons("denoise", "Denoise")
                    with gr.Column():
                        n_outs = _output_column("denoise", plot=False, extra=True)
                        n_status = gr.Markdown("", elem_id="denoise-status", elem_classes=["message"])

                def denoise_fn(img, add, sigma, size, seed, request: gr.Request, progress=gr.Progress()):
                    yield from _run_job("denoise", jobs.run_denoise,
                                        dict(src=img, sigma=sigma, add_noise=add, size=size, seed=seed or 0,
                                             weights=denoise_weights, **common), request, progress, 6)

                _wire("denoise", n_run, n_cancel, denoise_fn, [n_img, add, sigma, n_size, n_seed],
                      [*n_outs, n_status], n_status)

            # --- super-resolution ---
            with gr.Tab("Super-resolution", id="upscale", elem_id="tab-upscale"):
                gr.Markdown("Enlarge an image 2, 3 or 4 times with SRCNN or ESPCN (on luminance; colour is "
                            "bicubic). With 'shrink first' the image is shrunk, enlarged back and scored "
                            "against the original, next to nearest, bilinear and bicubic.")
                with gr.Row():
                    with gr.Column():
                        u_img, _ = _input_column("upscale", "chelsea", workdir)
                        scale = gr.Radio([2, 3, 4], value=3, label="Scale")
                        kind = gr.Radio(["espcn", "srcnn"], value="espcn", label="Network")
                        shrink = gr.Checkbox(value=True, label="Shrink first (and measure PSNR)")
                        u_size = gr.Slider(64, 1024, value=384, step=16, label="Size (longest side, px)", elem_id="upscale-size")
                        u_run, u_cancel = _buttons("upscale", "Upscale")
                    with gr.Column():
                        u_outs = _output_column("upscale", plot=False, extra=True)
                        u_status = gr.Markdown("", elem_id="upscale-status", elem_classes=["message"])

                def upscale_fn(img, scale, kind, shrink, size, request: gr.Request, progress=gr.Progress()):
                    yield from _run_job("upscale", jobs.run_upscale,
                                        dict(src=img, scale=scale, model=kind, shrink_first=shrink, size=size,
                                             **common), request, progress, 6)

                _wire("upscale", u_run, u_cancel, upscale_fn, [u_img, scale, kind, shrink, u_size],
                      [*u_outs, u_status], u_status)
    app.minicnn_workdir = workdir
    return app


def launch(host="127.0.0.1", port=7860, backend="numpy", vgg_weights=None, denoise_weights=None, block=True,
           quiet=False, workdir=None):
    """Build and start the app; returns the app (with ``block=False`` the server runs in a thread)."""
    app = build_app(backend=backend, vgg_weights=vgg_weights, denoise_weights=denoise_weights, workdir=workdir)
    app.queue(default_concurrency_limit=1)
    app.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block, quiet=quiet,
               max_file_size=f"{jobs.MAX_UPLOAD_MB}mb", show_error=True, theme=THEME, css=CSS,
               footer_links=[], allowed_paths=[app.minicnn_workdir], ssr_mode=False, inbrowser=False)
    return app
