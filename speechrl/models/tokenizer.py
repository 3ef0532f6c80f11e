"""A character tokenizer for small ASR language models trained here.

Characters of Whisper-normalized English (lower-case letters, digits, space and a few symbols)
plus special tokens. It is a real `PreTrainedTokenizerFast` (saved as tokenizer.json), so it
saves and loads like any Hugging Face tokenizer and a user's own LM can bring its own instead.
Characters generalize to words never seen in training, which a word-piece vocabulary learned
from template sentences would not.
"""
from __future__ import annotations

CHARS = " abcdefghijklmnopqrstuvwxyz0123456789'$%&.,-"
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<audio>"]


def char_tokenizer():
    """A fresh character tokenizer: ids 0-4 special, then one id per character."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIALS + list(CHARS))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")   # every character a token
    tok.decoder = decoders.Fuse()                                              # join without spaces
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>", unk_token="<unk>", additional_special_tokens=["<audio>"])
