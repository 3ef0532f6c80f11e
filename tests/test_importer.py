"""Imports validate audio, sanitise names, stay inside the data directory and never overwrite."""
from __future__ import annotations

import json

import pytest
import soundfile as sf

from speechrl.audio import load_audio, write_wav
from speechrl.data.corpus import load
from speechrl.data.importer import import_manifest, import_uploads, parse_transcripts
from speechrl.data.manifest import ManifestError
from speechrl.paths import inside, safe_name
from tests.conftest import tone


@pytest.mark.parametrize("raw,clean", [
    ("../../etc/passwd", "passwd"),
    ("..", "item"),
    ("my file (1).wav", "my_file_1_.wav"),
    (".hidden", "hidden"),
    ("a/b\\c.wav", "c.wav"),
])
def test_safe_name(raw, clean):
    assert safe_name(raw) == clean


def test_import_manifest_copies_and_resamples(data_dir, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    sf.write(src / "a.wav", tone(1.0, sr=44_100), 44_100)          # resampled to 16 kHz on import
    (src / "b.wav").write_bytes(b"")                                 # empty: skipped with a reason
    lines = [{"audio": "a.wav", "text": "hello", "id": "../evil"}, {"audio": "b.wav", "text": "x"}]
    (src / "m.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    report = import_manifest(src / "m.jsonl", "mine")
    assert report.imported == 1 and report.skipped[0][0] == "m-2" and "empty" in report.skipped[0][1]
    items = load(report.corpus)
    assert inside(items[0].audio, data_dir) and inside(report.corpus, data_dir)
    assert sf.info(items[0].audio).samplerate == 16_000
    assert "Skipped 1" in report.message()
    with pytest.raises(ValueError, match="already exists"):
        import_manifest(src / "m.jsonl", "mine")                      # never overwrite


def test_import_manifest_reports_all_bad_lines(data_dir, tmp_path):
    (tmp_path / "m.jsonl").write_text('{"text": "no audio"}\nnot json\n')
    with pytest.raises(ManifestError) as e:
        import_manifest(tmp_path / "m.jsonl", "x")
    assert [n for n, _ in e.value.problems] == [1, 2]


def test_import_uploads(data_dir, tmp_path):
    good = write_wav(tmp_path / "hello.wav", tone(1.0))
    silent = write_wav(tmp_path / "quiet.wav", tone(1.0, amp=0.0))
    report = import_uploads([good, silent], "hello: hello world\nquiet.wav: nothing", "up")
    assert report.imported == 1
    assert report.skipped == [("quiet.wav", "quiet.wav: silence only (peak below -80 dBFS); "
                                            "check the recording or the input device")]
    item = load(report.corpus)[0]
    assert item.text == "hello world" and len(load_audio(item.audio)) == 16_000


def test_import_uploads_all_bad(data_dir, tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio")
    with pytest.raises(ValueError, match="every item was rejected"):
        import_uploads([junk], "junk: words", "bad")
    with pytest.raises(ValueError, match="no audio files"):
        import_uploads([], "", "none")


@pytest.mark.parametrize("text,names,expected", [
    ("a: one\nb: two", ["a.wav", "b.wav"], {"a.wav": "one", "b.wav": "two"}),     # by stem
    ("b.wav|two\na.wav\tone", ["a.wav", "b.wav"], {"a.wav": "one", "b.wav": "two"}),  # by name, any order
    ("first line\nsecond line", ["x.wav", "y.wav"], {"x.wav": "first line", "y.wav": "second line"}),  # order
])
def test_parse_transcripts(text, names, expected):
    assert parse_transcripts(text, names) == expected


def test_parse_transcripts_count_mismatch():
    with pytest.raises(ValueError, match="2 file\\(s\\) but 1 transcript"):
        parse_transcripts("only one", ["a.wav", "b.wav"])
