"""The text pretext tasks' parts: corpora, tokenizers, n-gram baselines, BERT masking, sentence pairs, the Transformer,
and one error line per bad input. The methods themselves get the shared tests (tests/test_methods.py).

Tolerances: the Kneser-Ney probabilities are float64 products and sums of a few terms per order (~1e-15 relative);
compared at 1e-12. The masking frequencies are binomial: 6 standard deviations leave a false alarm below 1e-8.
"""

import collections
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssljax import data, methods, ngram, train
from ssljax.data import text as text_lib
from ssljax.errors import ConfigError
from ssljax.methods import next_sentence
from ssljax.methods import text as text_methods
from ssljax.models.transformer import Transformer

from helpers import tiny_config

# ----------------------------------------------------------------------------------------- n-gram baselines


def naive_kneser_ney(train, order, vocab):
  """Interpolated Kneser-Ney straight from its definition, with dicts and float64 loops: returns p(w, history)."""
  train = list(train)
  grams = [collections.Counter() for _ in range(order + 1)]
  for k in range(1, order + 1):
    for i in range(len(train) - k + 1):
      grams[k][tuple(train[i : i + k])] += 1
  counts = [None] * (order + 1)
  counts[order] = grams[order]
  for k in range(1, order):  # continuation counts: distinct left neighbours
    counts[k] = collections.Counter(g[1:] for g in grams[k + 1])
  discounts = [None] * (order + 1)
  for k in range(1, order + 1):
    n1 = sum(1 for c in counts[k].values() if c == 1)
    n2 = sum(1 for c in counts[k].values() if c == 2)
    discounts[k] = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5

  def p(w, history):
    prob = 1.0 / vocab
    for k in range(1, order + 1):
      if len(history) < k - 1:
        break
      h = tuple(history[len(history) - (k - 1) :]) if k > 1 else ()
      total = sum(c for g, c in counts[k].items() if g[:-1] == h)
      if total == 0:
        continue
      types = sum(1 for g in counts[k] if g[:-1] == h)
      d = discounts[k]
      prob = (max(counts[k].get(h + (w,), 0) - d, 0.0) + d * types * prob) / total
    return prob

  return p


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kneser_ney_matches_the_definition(order):
  rng = np.random.default_rng(order)
  vocab = 6
  train = rng.integers(0, vocab - 1, 300)  # token vocab − 1 never occurs: the uniform floor is exercised
  test = rng.integers(0, vocab, 40)
  kn = ngram.KneserNey(order, vocab).fit(train)
  got = np.exp(kn.log_probs(test))
  p = naive_kneser_ney(train, order, vocab)
  want = [p(test[i], list(test[max(0, i - order + 1) : i])) for i in range(1, len(test))]
  np.testing.assert_allclose(got, want, rtol=1e-12)


def test_kneser_ney_is_a_distribution_over_the_vocabulary():
  rng = np.random.default_rng(0)
  vocab = 7
  kn = ngram.KneserNey(3, vocab).fit(rng.integers(0, vocab, 500))
  for history in ([0, 1], [3, 3], [6, 2]):
    probs = [math.exp(kn.log_probs(np.asarray(history + [w]), start=2)[0]) for w in range(vocab)]
    assert abs(sum(probs) - 1.0) < 1e-12 and min(probs) > 0


def test_unigram_is_add_one():
  got = np.exp(ngram.unigram_log_probs(np.asarray([0, 0, 1]), np.asarray([0, 1, 2]), 3))
  np.testing.assert_allclose(got, [3 / 6, 2 / 6, 1 / 6], rtol=1e-15)


def test_kneser_ney_refuses_orders_whose_keys_overflow():
  assert ngram.max_order(261) == 7 and ngram.max_order(1024) == 6
  with pytest.raises(ValueError, match="order 8"):
    ngram.KneserNey(8, 261)


# ----------------------------------------------------------------------------------------- corpora and tokens


def write(path, content: bytes):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "wb") as f:
    f.write(content)


def test_folder_corpus_documents_labels_and_split(tmp_path):
  paras = [f"Paragraph {i} of the first file. It has two sentences." for i in range(30)]
  write(str(tmp_path / "a.txt"), "\n\n".join(paras).encode())
  write(str(tmp_path / "sub" / "b.txt"), b"Only one paragraph here.\nStill the same one.")
  write(str(tmp_path / "notes.md"), b"not a .txt file")
  corpus = text_lib.load_corpus(f"text:{tmp_path}")
  assert corpus.label_names == ("a.txt", os.path.join("sub", "b.txt"))
  docs = corpus.train + corpus.val + corpus.test
  assert len(docs) == 31 and "Only one paragraph here.\nStill the same one." in docs
  for split in ("train", "val", "test"):
    texts, labels = corpus.split(split)
    assert all(text_lib.split_of(t) == split for t in texts) and len(labels) == len(texts)
  assert text_lib.sentences("One. Two!\nstill two?\n\nThree") == ["One.", "Two!", "still two?", "Three"]


def test_split_is_fixed_by_the_text():
  assert [text_lib.split_of(f"doc {i}") for i in range(8)] == [text_lib.split_of(f"doc {i}") for i in range(8)]
  buckets = collections.Counter(text_lib.split_of(f"document number {i}") for i in range(5000))
  for split, share in (("train", 0.8), ("val", 0.1), ("test", 0.1)):  # binomial, 6 standard deviations
    assert abs(buckets[split] / 5000 - share) < 6 * math.sqrt(share * (1 - share) / 5000), buckets


def test_stdlib_docstrings_are_a_real_corpus():
  corpus = text_lib.load_corpus("stdlib_docs")
  size = sum(len(t.encode()) for t in corpus.train + corpus.val + corpus.test)
  assert size > 1_000_000 and len(corpus.val) > 300 and len(corpus.test) > 300
  assert {"email", "asyncio", "logging"} <= set(corpus.label_names) and "test" not in corpus.label_names
  assert len(set(corpus.train) & set(corpus.test)) == 0


def test_tokenizers_count_utf8_bytes():
  texts = ["Return the größte value.", "naïve — ünïcode ✓", "plain ascii"]
  byte = text_lib.byte_tokenizer()
  bpe = text_lib.bpe_tokenizer(texts * 20, 300)
  for tok in (byte, bpe):
    for t, ids in zip(texts, tok.encode(texts)):
      assert ids.dtype == np.int32 and ids.min() >= len(text_lib.SPECIALS)
      assert int(tok.token_bytes[ids].sum()) == len(t.encode("utf-8")), (tok.name, t)
  assert bpe.vocab_size <= 300 and len(bpe.encode(texts)[0]) < len(byte.encode(texts)[0])
  again = text_lib.bpe_tokenizer(texts * 20, 300)
  assert all(np.array_equal(a, b) for a, b in zip(bpe.encode(texts), again.encode(texts)))


def test_stream_and_eval_windows_cover_every_target_once():
  docs = [np.arange(10, 15, dtype=np.int32), np.arange(20, 23, dtype=np.int32)]
  s = text_lib.stream(docs)
  assert list(s) == [text_lib.EOS, 10, 11, 12, 13, 14, text_lib.EOS, 20, 21, 22, text_lib.EOS]
  w = text_methods.eval_windows(s, 4)
  assert w.shape == (3, 5)
  targets = w[:, 1:].ravel()
  np.testing.assert_array_equal(targets[targets != text_lib.PAD], s[1:])
  np.testing.assert_array_equal(w[1:, 0], w[:-1, -1])  # each window starts where the last ended


# ----------------------------------------------------------------------------------------- BERT masking, pairs


def test_bert_mask_follows_the_15_80_10_10_rule():
  n, vocab, rate = 200_000, 300, 0.15
  tokens = jnp.asarray(np.random.default_rng(0).integers(0, vocab, n), jnp.int32)
  inputs, targets = jax.jit(lambda k, x: text_methods.bert_mask(k, x, rate, vocab))(jax.random.key(0), tokens)
  tokens, inputs, targets = map(np.asarray, (tokens, inputs, targets))
  special = tokens < len(text_lib.SPECIALS)
  chosen = targets >= 0
  assert not chosen[special].any() and (inputs[special] == tokens[special]).all()
  np.testing.assert_array_equal(targets[chosen], tokens[chosen])
  np.testing.assert_array_equal(inputs[~chosen], tokens[~chosen])

  def near(count, total, p):
    return abs(count - p * total) < 6 * math.sqrt(total * p * (1 - p))

  m = int(chosen.sum())
  assert near(m, int((~special).sum()), rate)
  as_mask = inputs[chosen] == text_lib.MASK
  assert near(int(as_mask.sum()), m, 0.8)
  kept = inputs[chosen] == tokens[chosen]
  # A random replacement draws the original token with probability 1/(vocab − 5): counted as kept.
  p_kept = 0.1 + 0.1 / (vocab - len(text_lib.SPECIALS))
  assert near(int(kept.sum()), m, p_kept)
  replaced = inputs[chosen][~as_mask & ~kept]
  assert replaced.min() >= len(text_lib.SPECIALS) and replaced.max() < vocab


def naive_pair(sentences, a, b, seq_len):
  cap = (seq_len - 3) // 2
  sa, sb = list(sentences[a]), list(sentences[b])
  sa, sb = sa[max(0, len(sa) - cap) :], sb[:cap]
  tokens = [text_lib.CLS, *sa, text_lib.SEP, *sb, text_lib.SEP]
  segments = [0] * (len(sa) + 2) + [1] * (len(sb) + 1)
  pad = seq_len - len(tokens)
  return tokens + [text_lib.PAD] * pad, segments + [0] * pad


def test_pair_layout_matches_a_direct_construction():
  tok = text_lib.byte_tokenizer()
  docs = ["First sentence here. A second, much longer sentence follows it here. Third.", "Lone. Pair."]
  stream, start, length, first = next_sentence.sentence_table(docs, tok)
  assert list(first) == [0, 1, 3]  # sentence 2 ends document 0, sentence 4 ends document 1
  sentences = [stream[s : s + n] for s, n in zip(start, length)]
  layout = jax.jit(next_sentence.pair_layout, static_argnums=5)
  for seq_len in (11, 40, 200):  # caps that cut A from the left and B from the right, and none
    for a, b in ((0, 1), (1, 2), (3, 4), (2, 0)):
      tokens, segments = layout(jnp.asarray(stream), start[a], length[a], start[b], length[b], seq_len)
      want_tokens, want_segments = naive_pair(sentences, a, b, seq_len)
      assert list(np.asarray(tokens)) == want_tokens and list(np.asarray(segments)) == want_segments


def test_negative_pairs_never_take_the_true_successor():
  first = jnp.asarray([0, 1, 5, 9], jnp.int32)
  a, b, label = jax.jit(next_sentence.draw_pairs, static_argnums=2)(jax.random.key(3), first, 4000)
  a, b, label = map(np.asarray, (a, b, label))
  np.testing.assert_array_equal(b[label == 1], a[label == 1] + 1)
  assert (b[label == 0] != a[label == 0] + 1).all() and set(b) <= {1, 2, 6, 10}
  assert abs(label.mean() - 0.5) < 6 * math.sqrt(0.25 / 4000)


# ----------------------------------------------------------------------------------------- the Transformer


def _model(causal):
  return Transformer(vocab_size=20, width=8, depth=2, num_heads=2, max_len=12, causal=causal, pad_id=0)


def test_causal_positions_never_see_the_future():
  model = _model(causal=True)
  x = jnp.asarray(np.random.default_rng(0).integers(1, 20, (2, 10)), jnp.int32)
  variables = model.init(jax.random.key(0), x)
  y = model.apply(variables, x)
  changed = model.apply(variables, x.at[:, 6:].set(3))
  np.testing.assert_allclose(y[:, :6], changed[:, :6], atol=1e-6)
  assert not np.allclose(y[:, 6:], changed[:, 6:])


def test_padding_changes_no_real_position():
  model = _model(causal=False)
  x = jnp.asarray(np.random.default_rng(1).integers(1, 20, (2, 7)), jnp.int32)
  variables = model.init(jax.random.key(0), jnp.zeros((1, 12), jnp.int32))
  padded = jnp.concatenate([x, jnp.zeros((2, 5), jnp.int32)], 1)
  np.testing.assert_allclose(model.apply(variables, x), model.apply(variables, padded)[:, :7], atol=1e-6)


# ----------------------------------------------------------------------------------------- bad input


def one_line(info):
  message = str(info.value)
  assert "\n" not in message, message
  return message


def test_empty_corpus_is_one_error_line(tmp_path):
  write(str(tmp_path / "empty.txt"), b"\n\n  \n")
  with pytest.raises(data.DataError) as info:
    text_lib.load_corpus(f"text:{tmp_path}")
  assert "no text" in one_line(info)
  with pytest.raises(data.DataError) as info:
    text_lib.load_corpus(f"text:{tmp_path / 'nothing_here'}")
  assert "does not exist" in one_line(info)


def test_binary_file_is_one_error_line_naming_it(tmp_path):
  path = tmp_path / "model.txt"
  write(str(path), b"looks like text\x00\x01\x02")
  with pytest.raises(data.DataError) as info:
    text_lib.load_corpus(f"text:{path}")
  assert str(path) in one_line(info) and "NUL byte at offset 15" in str(info.value)


def test_wrong_encoding_is_one_error_line_naming_it(tmp_path):
  path = tmp_path / "latin.txt"
  write(str(path), "Grüße aus Köln".encode("latin-1"))
  with pytest.raises(data.DataError) as info:
    text_lib.load_corpus(f"text:{path}")
  assert str(path) in one_line(info) and "not UTF-8" in str(info.value) and "0xfc at offset 2" in str(info.value)


@pytest.mark.parametrize("method", ["next_token", "masked_token", "next_sentence"])
def test_sequence_longer_than_the_positions_is_one_error_line(method):
  config = tiny_config(method, seq_len=32)  # the tiny model has 16 positions
  with pytest.raises(ConfigError) as info:
    train.check_config(config, methods.get(method))
  assert "config.seq_len=32" in one_line(info) and "max_len=16" in str(info.value)


@pytest.mark.parametrize("rate", [0.0, 1.0, -0.1, 1.5])
@pytest.mark.parametrize("method", ["masked_token", "next_sentence"])
def test_mask_rate_outside_0_1_is_one_error_line(method, rate):
  with pytest.raises(ConfigError) as info:
    train.check_config(tiny_config(method, mask_rate=rate), methods.get(method))
  assert "config.mask_rate" in one_line(info) and "(0, 1)" in str(info.value)


def test_image_datasets_and_text_corpora_do_not_mix():
  with pytest.raises(ConfigError) as info:
    methods.get("next_token").build(tiny_config("next_token", dataset="digits"))
  assert "not a text corpus" in one_line(info)
  with pytest.raises(data.DataError) as info:
    data.load("stdlib_docs")
  assert "text corpus" in one_line(info)


def test_your_own_text_files_train_through_the_spine(tmp_path, capsys):
  rng = np.random.default_rng(0)
  words = {"a.txt": ["river", "boat", "water", "fish"], "b.txt": ["mountain", "snow", "rock", "climb"]}
  for name, vocab in words.items():
    paras = [" ".join(rng.choice(vocab, 12)) + ". " + " ".join(rng.choice(vocab, 9)) + "." for _ in range(60)]
    write(str(tmp_path / "corpus" / name), "\n\n".join(paras).encode())
  config = tiny_config(
    "next_token", dataset=f"text:{tmp_path / 'corpus'}", tokenizer="byte", probe_classes=2, num_labels=4
  )
  results = train.train_and_evaluate(config, str(tmp_path / "w"), methods.get("next_token"))
  assert results["tokenizer"] == "byte (261 tokens)" and results["probe_classes"] == "a.txt,b.txt"
  for key in ("val_perplexity", "ngram_val_perplexity", "unigram_val_perplexity", "test_bits_per_byte"):
    assert results[key] > 0, key
  assert results["ngram_val_perplexity"] < results["unigram_val_perplexity"]  # words repeat: bigrams help
  assert 0 <= results["linear_probe_accuracy_bow"] <= 1
  assert " tokens/s | ETA" in capsys.readouterr().out  # the log's rate counts tokens, not images
