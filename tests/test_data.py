"""The offline corpus: splits, tokens, prose, fingerprint, deterministic batches."""

import numpy as np
import pytest
import torch

from ptlab import data


def test_corpus_skips_tests_and_splits_are_stable():
    c = data.load_corpus()
    files = [f for fs in c.files.values() for f in fs]
    assert len(files) == len(set(files)) == c.fingerprint.files > 100
    for f in files:
        parts = f.split("/")[:-1]
        assert not {"test", "tests", "idlelib", "site-packages"} & set(parts), f
        assert data.split_of(f) in data.SPLITS
    assert all(len(c.files[s]) > 0 for s in data.SPLITS)
    assert data.split_of("json/decoder.py") == data.split_of("json/decoder.py")


def test_fingerprint_fields():
    fp = data.load_corpus().fingerprint.to_dict()
    assert set(fp) == {"python", "files", "bytes", "sha256"}
    assert len(fp["sha256"]) == 64 and fp["bytes"] > 1_000_000


def test_tokens_are_bytes_with_bos_separators():
    c = data.load_corpus()
    toks = c.tokens("val")
    assert toks.dtype == np.int16 and toks.min() >= 0 and toks.max() <= data.BOS
    assert (toks == data.BOS).sum() == len(c.files["val"])
    first = c.files["val"][0]
    assert bytes(toks[1 : 1 + 40].astype(np.uint8)) == c.raw[first][:40]
    with pytest.raises(ValueError, match="unknown split"):
        c.tokens("dev")


def test_prose_extracts_docstrings_and_comments():
    src = (
        b'"""Module doc."""\n# a comment here\n'
        b'def f():\n    """Func doc."""\n    return 1  # tail\n'
    )
    got = data.extract_prose(src)
    assert b"Module doc." in got and b"Func doc." in got and b"a comment here" in got
    assert b"return 1" not in b"".join(got)
    prose = data.load_corpus().prose("heldout")
    assert len(prose) > 10_000


def test_batches_are_deterministic_and_seeded():
    s = data.load_corpus().tokens("train")
    a = data.get_batch(s, seed=3, step=7, batch_size=4, seq_len=16)
    b = data.get_batch(s, seed=3, step=7, batch_size=4, seq_len=16)
    c = data.get_batch(s, seed=4, step=7, batch_size=4, seq_len=16)
    assert a.shape == (4, 17) and a.dtype == torch.int64
    assert torch.equal(a, b) and not torch.equal(a, c)
    ev1 = data.eval_batches(s, n_batches=2, batch_size=3, seq_len=8)
    ev2 = data.eval_batches(s, n_batches=2, batch_size=3, seq_len=8)
    assert all(torch.equal(x, y) for x, y in zip(ev1, ev2, strict=True))


def test_decode_roundtrip():
    t = torch.tensor([data.BOS, *b"def x():", data.MASK])
    assert data.decode(t) == "⟨BOS⟩def x():⟨MASK⟩"
