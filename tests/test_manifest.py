"""Manifests: every bad line is reported with its number; good ones round-trip."""
from __future__ import annotations

import json

import pytest

from speechrl.audio import write_wav
from speechrl.data.manifest import Item, ManifestError, read_manifest, write_manifest
from tests.conftest import tone


@pytest.fixture
def wav(tmp_path):
    return write_wav(tmp_path / "a.wav", tone(0.5))


def test_round_trip_relative_paths(tmp_path, wav):
    items = [Item(audio=str(wav), text="hello there", id="x1", speaker="s1", keywords=["hello"], duration=0.5)]
    path = write_manifest(tmp_path / "m.jsonl", items)
    line = json.loads(path.read_text().splitlines()[0])
    assert line["audio"] == "a.wav"                       # stored relative to the manifest
    back = read_manifest(path)
    assert back[0].audio == str(wav) and back[0].keywords == ["hello"] and back[0].id == "x1"


def test_every_bad_line_is_reported(tmp_path, wav):
    lines = [
        json.dumps({"audio": "a.wav", "text": "fine"}).encode(),       # 1 ok
        b"{not json",                                                   # 2 invalid JSON
        json.dumps({"text": "no audio key"}).encode(),                  # 3 missing key
        b'{"audio": "a.wav", "text": "caf\xe9"}',                       # 4 Latin-1 byte, not UTF-8
        json.dumps({"audio": "gone.wav", "text": "x"}).encode(),        # 5 audio missing
        json.dumps({"audio": "a.wav", "text": "x", "keywords": "k"}).encode(),  # 6 keywords not a list
        b"",                                                            # 7 blank: skipped
        json.dumps([1, 2]).encode(),                                    # 8 not an object
        json.dumps({"audio": "a.wav", "text": "x", "duration": -1}).encode(),   # 9 negative duration
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ManifestError) as e:
        read_manifest(path)
    numbers = [n for n, _ in e.value.problems]
    assert numbers == [2, 3, 4, 5, 6, 8, 9]
    text = str(e.value)
    for words in ("line 2: not valid JSON", "line 3: missing key 'audio'", "line 4: not UTF-8",
                  "line 5: audio file not found", "line 6: 'keywords' must be a list",
                  "line 8: expected a JSON object", "line 9: 'duration'"):
        assert words in text


def test_duplicate_ids(tmp_path, wav):
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join(json.dumps({"id": "same", "audio": "a.wav", "text": t}) for t in "ab"))
    with pytest.raises(ManifestError, match="line 2: duplicate id 'same'"):
        read_manifest(path)


@pytest.mark.parametrize("content,words", [(None, "not found"), ("", "empty"), ("\n\n", "empty")])
def test_missing_or_empty_manifest(tmp_path, content, words):
    path = tmp_path / "m.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ManifestError, match=words):
        read_manifest(path)
