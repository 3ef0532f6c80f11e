"""SpeechRL Studio: the web app. Composes the pages (pages/*.py) with Gradio's multipage routes.

    python app.py [--host 127.0.0.1] [--port 7860] [--auth user:password] [--corpus-size 3000]

On first start the default corpus is synthesized (progress in the terminal) so the pages are
never empty. Binds 127.0.0.1 unless told otherwise; serves files only from the data directory.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # offline: no telemetry calls
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def ensure_default_corpus(size: int) -> None:
    """Build the default corpus when it is missing (cached wavs make a re-run quick)."""
    from speechrl.data.corpus import CorpusSpec, build, is_built
    from speechrl.paths import corpus_dir

    target = corpus_dir()
    if is_built(target):
        return
    print(f"[studio] first start: synthesizing the default corpus ({size} utterances) into {target}",
          file=sys.stderr)
    summary = build(target, CorpusSpec(size=size))
    print(f"[studio] corpus ready: {summary['items']} items, {summary['speakers']} speakers, "
          f"{summary['build_seconds']:.0f} s", file=sys.stderr)


def build_app():
    import gradio as gr

    from pages import data, home

    with gr.Blocks(title="SpeechRL Studio") as app:
        home.demo.render()
    with app.route("Data", "/data"):
        data.demo.render()
    return app


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="SpeechRL Studio web app")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--auth", help="user:password required to open the app (for sharing beyond localhost)")
    p.add_argument("--corpus-size", type=int, default=3000, help="utterances in the default corpus (first start)")
    p.add_argument("--no-build", action="store_true", help="do not build the default corpus on start")
    a = p.parse_args(argv)
    if a.auth and ":" not in a.auth:
        p.error("--auth takes user:password")
    return a


def main(argv=None) -> None:
    a = parse_args(argv)
    if not a.no_build:
        ensure_default_corpus(a.corpus_size)
    from speechrl.paths import data_dir

    app = build_app()
    auth = tuple(a.auth.split(":", 1)) if a.auth else None
    print(f"[studio] open http://{a.host}:{a.port}", file=sys.stderr)
    app.queue(default_concurrency_limit=4).launch(
        server_name=a.host, server_port=a.port, auth=auth, allowed_paths=[str(data_dir())],
        show_error=True, footer_links=["settings"])


if __name__ == "__main__":
    main()
