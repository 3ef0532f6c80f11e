"""Data page handlers, called directly (no browser)."""
from __future__ import annotations

import shutil

import gradio as gr
import pandas as pd
import pytest

from pages import data as page
from speechrl.paths import corpus_dir


@pytest.fixture
def corpus(data_dir, small_corpus):
    shutil.copytree(small_corpus, corpus_dir("default"))
    return "default"


def test_corpus_names_lists_only_finished(corpus, data_dir):
    (data_dir / "corpora" / "half-built").mkdir()
    assert page.corpus_names() == ["default"]


def test_show_corpus_and_filters(corpus):
    summary, fig, table, note, split_u, speaker_u = page.show_corpus(corpus)
    assert "42 items" in summary and "| long | 2 |" in summary
    assert len(table) == 42 and list(table.columns) == page.COLUMNS
    assert split_u["choices"][0] == "all" and "long" in split_u["choices"]
    _, _, long_only, note, _, _ = page.show_corpus(corpus, "long")
    assert set(long_only["split"]) == {"long"} and "Showing 2 of 2" in note
    assert len(fig.data) >= 2                                    # one histogram trace per split


@pytest.mark.parametrize("split,speaker,query,expected", [
    ("all", "all", "", 3),
    ("train", "all", "", 2),
    ("all", "s2", "", 1),
    ("all", "all", "CHICAGO", 1),        # case-insensitive text search
    ("all", "all", "nike", 1),           # keywords are searched too
    ("all", "all", "u3", 1),             # exact id
])
def test_filter_frame(split, speaker, query, expected):
    df = pd.DataFrame({"id": ["u1", "u2", "u3"], "split": ["train", "train", "test"], "speaker": ["s1", "s2", "s1"],
                       "duration": [1, 2, 3], "text": ["to Chicago", "hello", "bye"], "keywords": ["", "Nike", ""]})
    assert len(page.filter_frame(df, split, speaker, query)) == expected


def test_item_details_and_select(corpus):
    _, _, table, *_ = page.show_corpus(corpus, "long")
    evt = gr.SelectData(target=None, data={"index": [0, 1], "value": "long"})
    audio, md = page.select_row(corpus, table, evt)
    assert audio.endswith(".wav") and "| start | end | segment |" in md
    with pytest.raises(gr.Error, match="No item"):
        page.item_details(corpus, "nope")


def test_errors_are_readable(data_dir):
    with pytest.raises(gr.Error, match="No corpus selected"):
        page.show_corpus("")
    with pytest.raises(gr.Error, match="path of a JSON Lines manifest"):
        page.import_from_manifest("  ", "x")
    with pytest.raises(gr.Error, match="at least 10"):
        page.build_corpus("tiny", 3, 0)
    with pytest.raises(gr.Error, match="no audio files"):
        page.import_from_uploads(None, "", "x")


@pytest.mark.slow
def test_build_corpus_handler(data_dir):
    msg, dropdown = page.build_corpus("mini", 10, 0)
    assert "Built 'mini': 12 items" in msg                       # 10 short + 2 long recordings
    assert "mini" in dropdown["choices"] and dropdown["value"] == "mini"
