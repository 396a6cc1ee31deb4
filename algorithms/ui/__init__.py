"""The browser UI of ``minicnn ui``: ``app.py`` (Gradio wiring) over ``jobs.py`` (the work, no web code)."""
