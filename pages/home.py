"""Home page: what the studio does and where to start."""
from __future__ import annotations

import gradio as gr

from speechrl.data.corpus import is_built, summarize, load
from speechrl.paths import corpus_dir, data_dir

INTRO = """# SpeechRL Studio
Reinforcement learning for LLM-based speech models, with your ears in the loop: design rewards,
run short GRPO / DiffRO fine-tunes of ASR and TTS models, and listen to what changed.

| page | what it is for |
|---|---|
| [**Data**](/data) | browse, filter and listen to speech corpora; build a synthetic corpus offline; import your own |

More pages (Rewards, Train, Compare, Audit) arrive as their parts land.
"""


def status_markdown() -> str:
    """One line on the default corpus and where data lives."""
    target = corpus_dir()
    if not is_built(target):
        return f"No default corpus yet in `{target}`: open **Data** and build one."
    s = summarize(load(target))
    return (f"Default corpus: **{s['items']} items**, {s['speakers']} speakers, {s['hours'] * 60:.0f} minutes. "
            f"Data directory: `{data_dir()}`.")


with gr.Blocks(title="SpeechRL Studio") as demo:
    gr.Markdown(INTRO)
    status = gr.Markdown(elem_id="home-status")
    demo.load(status_markdown, None, status)

if __name__ == "__main__":
    demo.launch()
