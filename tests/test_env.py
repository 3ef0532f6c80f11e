"""The installed stack works offline: resemblyzer imports (its webrtcvad needs no pkg_resources)
and tells speakers apart on our own synthetic voices; the library never imports gradio."""
from __future__ import annotations

import subprocess
import sys

import numpy as np


def test_resemblyzer_separates_speakers():
    from resemblyzer import VoiceEncoder

    from speechrl.data.voices import Voice, synthesize

    enc = VoiceEncoder("cpu", verbose=False)
    heart = [synthesize(Voice("hibari", "heart"), t) for t in ("Please call Maria in Boston today.",
                                                               "The Nike order arrived on Friday morning.")]
    joe = synthesize(Voice("piper", "joe"), "Please call Maria in Boston today.")
    e1, e2, e3 = (enc.embed_utterance(x) for x in (*heart, joe))
    same, other = float(np.dot(e1, e2)), float(np.dot(e1, e3))      # embeddings are L2-normalised
    assert same > other + 0.05, (same, other)


def test_library_does_not_import_gradio():
    code = "import sys, speechrl.audio, speechrl.metrics, speechrl.data.corpus, speechrl.data.importer; " \
           "assert 'gradio' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)

