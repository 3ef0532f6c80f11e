"""Data page: build or import a corpus, browse and filter it, listen to any item.

Handlers are module-level functions (tested without a browser); `demo` is a standalone
`gr.Blocks` that `app.py` mounts as a route and that also runs alone: `python -m pages.data`.
"""
from __future__ import annotations

import html

import gradio as gr
import pandas as pd
import plotly.express as px

from speechrl.data import corpus as corpus_lib
from speechrl.data.corpus import CorpusSpec
from speechrl.data.importer import import_manifest, import_uploads
from speechrl.data.manifest import Item, ManifestError
from speechrl.paths import DEFAULT_CORPUS, corpora_dir, corpus_dir

MAX_ROWS = 500          # rows sent to the browser at once; filters narrow the rest
ALL = "all"
COLUMNS = ["id", "split", "speaker", "duration", "text", "keywords"]
SPLIT_ORDER = ["train", "dev", "test", "long"]


def corpus_names() -> list[str]:
    """Finished corpora in the data directory, the default first."""
    root = corpora_dir()
    names = sorted(p.name for p in root.iterdir() if corpus_lib.is_built(p)) if root.is_dir() else []
    return sorted(names, key=lambda n: n != DEFAULT_CORPUS)


def _items(name: str) -> list[Item]:
    if not name:
        raise gr.Error("No corpus selected. Build one below (Build a synthetic corpus) or import one.")
    try:
        return corpus_lib.load(corpus_dir(name))
    except ManifestError as e:
        raise gr.Error(f"Corpus '{name}' has a broken manifest:\n{e}") from e


def items_frame(items: list[Item]) -> pd.DataFrame:
    """One row an item: the table the page shows."""
    return pd.DataFrame([{"id": i.id, "split": i.split, "speaker": i.speaker, "duration": round(i.duration, 2),
                          "text": i.text, "keywords": ", ".join(i.keywords)} for i in items], columns=COLUMNS)


def filter_frame(df: pd.DataFrame, split: str, speaker: str, query: str) -> pd.DataFrame:
    """Rows matching a split, a speaker and a case-insensitive text/keyword search."""
    if split and split != ALL:
        df = df[df["split"] == split]
    if speaker and speaker != ALL:
        df = df[df["speaker"] == speaker]
    q = (query or "").strip().lower()
    if q:
        df = df[df["text"].str.lower().str.contains(q, regex=False) |
                df["keywords"].str.lower().str.contains(q, regex=False) | (df["id"].str.lower() == q)]
    return df


def summary_markdown(name: str, items: list[Item]) -> str:
    s = corpus_lib.summarize(items)
    order = sorted(s["splits"], key=lambda k: (SPLIT_ORDER.index(k) if k in SPLIT_ORDER else 9, k))
    rows = "\n".join(f"| {k} | {s['splits'][k]['items']} | {s['splits'][k]['speakers']} | "
                     f"{s['splits'][k]['minutes']:.1f} |" for k in order)
    return (f"**{name}**: {s['items']} items, {s['speakers']} speakers, {s['hours'] * 60:.1f} minutes of speech\n\n"
            f"| split | items | speakers | minutes |\n|---|---|---|---|\n{rows}")


def duration_chart(items: list[Item]):
    """Histogram of durations per split (long audio sits at 20-60 s)."""
    df = pd.DataFrame({"seconds": [i.duration for i in items], "split": [i.split for i in items]})
    fig = px.histogram(df, x="seconds", color="split", nbins=60, barmode="stack", log_y=True,
                       title="Durations by split (log count)",
                       category_orders={"split": [s for s in SPLIT_ORDER if s in set(df["split"])]})
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=40, b=10), legend_title_text="")
    return fig


def show_corpus(name: str, split: str = ALL, speaker: str = ALL, query: str = ""):
    """Everything the page shows for a corpus: summary, chart, filtered table, filter choices."""
    items = _items(name)
    df = items_frame(items)
    shown = filter_frame(df, split, speaker, query)
    note = (f"Showing {min(len(shown), MAX_ROWS)} of {len(shown)} matching rows "
            f"({len(df)} in the corpus). Click a row to listen.")
    splits = [ALL] + sorted(df["split"].unique().tolist())
    speakers = [ALL] + sorted(df["speaker"].unique().tolist())
    return (summary_markdown(name, items), duration_chart(items), shown.head(MAX_ROWS), note,
            gr.update(choices=splits, value=split if split in splits else ALL),
            gr.update(choices=speakers, value=speaker if speaker in speakers else ALL))


def item_details(name: str, item_id: str):
    """Audio path and a description of one item, by id."""
    match = [i for i in _items(name) if i.id == item_id]
    if not match:
        raise gr.Error(f"No item '{item_id}' in corpus '{name}'.")
    i = match[0]
    lines = [f"**{html.escape(i.id)}** · {html.escape(i.speaker)} · {i.split} · {i.duration:.2f} s",
             f"> {html.escape(i.text)}"]
    if i.keywords:
        lines.append("Keywords: " + ", ".join(f"`{html.escape(k)}`" for k in i.keywords))
    if i.segments:
        lines.append("| start | end | segment |\n|---|---|---|\n" + "\n".join(
            f"| {s['start']:.1f} | {s['end']:.1f} | {html.escape(s['text'])} |" for s in i.segments))
    return i.audio, "\n\n".join(lines)


def select_row(name: str, table: pd.DataFrame, evt: gr.SelectData):
    """Row click -> that item's audio and details."""
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    if table is None or row is None or row >= len(table):
        raise gr.Error("Click a row of the table to listen to it.")
    return item_details(name, str(table.iloc[row]["id"]))


def _refresh_names(select: str | None = None):
    names = corpus_names()
    return gr.update(choices=names, value=select if select in names else (names[0] if names else None))


def build_corpus(name: str, size: float, seed: float, progress=gr.Progress(track_tqdm=True)):
    """Synthesize a corpus (cached: rebuilding the same spec only finishes what is missing)."""
    try:
        spec = CorpusSpec(size=int(size), seed=int(seed))
    except ValueError as e:
        raise gr.Error(str(e)) from e
    name = (name or "").strip() or DEFAULT_CORPUS
    try:
        summary = corpus_lib.build(corpus_dir(name), spec)
    except RuntimeError as e:
        raise gr.Error(str(e)) from e
    msg = (f"Built '{name}': {summary['items']} items, {summary['speakers']} speakers in "
           f"{summary['build_seconds']:.0f} s.")
    return msg, _refresh_names(name)


def import_from_manifest(path: str, name: str):
    """Import a manifest from disk into a new corpus (audio validated and copied)."""
    if not (path or "").strip():
        raise gr.Error("Give the path of a JSON Lines manifest (one {\"audio\": ..., \"text\": ...} per line).")
    try:
        report = import_manifest(path.strip(), name)
    except (ManifestError, ValueError) as e:
        raise gr.Error(str(e)) from e
    return report.message(), _refresh_names(report.corpus.name)


def import_from_uploads(files: list[str] | None, transcripts: str, name: str):
    """Import uploaded audio files with their transcripts into a new corpus."""
    try:
        report = import_uploads(list(files or []), transcripts, name)
    except ValueError as e:
        raise gr.Error(str(e)) from e
    return report.message(), _refresh_names(report.corpus.name)


with gr.Blocks(title="Data · SpeechRL Studio") as demo:
    gr.Markdown("# Data\nSpeech corpora for training and evaluation. Pick a corpus, filter it, and "
                "click any row to listen. Build a synthetic corpus offline or import your own below.")
    with gr.Row():
        corpus = gr.Dropdown(label="Corpus", choices=[], scale=3, elem_id="corpus-select")
        refresh = gr.Button("Refresh list", scale=1)
    with gr.Row():
        summary = gr.Markdown(elem_id="corpus-summary")
        chart = gr.Plot(label="Durations", show_label=False)
    with gr.Row():
        split = gr.Dropdown(label="Split", choices=[ALL], value=ALL, scale=1)
        speaker = gr.Dropdown(label="Speaker", choices=[ALL], value=ALL, scale=2)
        query = gr.Textbox(label="Search text or keywords", placeholder="e.g. Chicago", scale=3)
    note = gr.Markdown()
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, max_height=420, elem_id="items-table",
                         column_widths=["9%", "6%", "19%", "6%", "42%", "18%"])
    with gr.Row():
        player = gr.Audio(label="Selected item", type="filepath", interactive=False, elem_id="item-audio", scale=2)
        details = gr.Markdown("Click a row to listen.", elem_id="item-details")

    with gr.Accordion("Build a synthetic corpus (eSpeak NG, Piper, Hibari; offline)", open=False):
        gr.Markdown("24 voices speak generated sentences with names, brands and numbers; 10 % of sentences go "
                    "to dev and 10 % to test, six voices are held out of train, and long recordings (20-60 s) "
                    "are joined for hallucination audits. About 3,000 utterances take 3 minutes on 2 cores.")
        with gr.Row():
            b_name = gr.Textbox(label="Corpus name", value=DEFAULT_CORPUS)
            b_size = gr.Number(label="Utterances", value=3000, precision=0, minimum=10)
            b_seed = gr.Number(label="Seed", value=0, precision=0)
        b_go = gr.Button("Build", variant="primary")
        b_out = gr.Markdown()

    with gr.Accordion("Import your own speech", open=False):
        with gr.Tab("From a manifest"):
            gr.Markdown("A JSON Lines file, one `{\"audio\": \"path.wav\", \"text\": \"...\"}` per line "
                        "(optional `speaker`, `keywords`, `split`). Audio is validated and copied into the data folder.")
            m_path = gr.Textbox(label="Manifest path on this machine")
            m_name = gr.Textbox(label="New corpus name", value="imported")
            m_go = gr.Button("Import manifest")
        with gr.Tab("Upload files"):
            u_files = gr.File(label="Audio files (WAV/FLAC)", file_count="multiple", file_types=["audio"])
            u_text = gr.Textbox(label="Transcripts: one line per file, `file name: transcript` or in upload order",
                                lines=4)
            u_name = gr.Textbox(label="New corpus name", value="uploaded")
            u_go = gr.Button("Import uploads")
        i_out = gr.Markdown()

    view = [summary, chart, table, note, split, speaker]
    filters = [corpus, split, speaker, query]
    demo.load(_refresh_names, None, corpus)
    corpus.change(show_corpus, [corpus], view)
    refresh.click(_refresh_names, [corpus], corpus)
    for trigger in (split.input, speaker.input, query.submit):
        trigger(show_corpus, filters, view)
    table.select(select_row, [corpus, table], [player, details])
    b_go.click(build_corpus, [b_name, b_size, b_seed], [b_out, corpus], concurrency_id="device")
    m_go.click(import_from_manifest, [m_path, m_name], [i_out, corpus])
    u_go.click(import_from_uploads, [u_files, u_text, u_name], [i_out, corpus])


if __name__ == "__main__":
    demo.launch(allowed_paths=[str(corpora_dir())])
