"""Pieces the text pretext methods (next_token, masked_token, next_sentence) share: the corpus and its tokens, the
Transformer, BERT's masking, the sentence-pair layout, and the representation check that ends every evaluation.

Representation check: which label a document has (for stdlib_docs, the standard-library module a docstring belongs
to), among the `probe_classes` labels with the most training documents. Each document is its first seq_len tokens
after the method's start token, padded; features are the frozen encoder's hidden states mean-pooled over the real
tokens. The probe is evaluate.linear_probe (logistic regression on standardised features) fit on `num_labels` labelled
training documents (split_labelled: num_labels / probe_classes of each, drawn by the seed) and scored on the test
documents of those classes:

  linear_probe_accuracy              the pretrained encoder.
  linear_probe_accuracy_random_init  the same architecture at the run's initial weights.
  linear_probe_accuracy_bow          bag of words: log(1 + count) of the 4096 most frequent words of those train
                                     documents (scikit-learn's CountVectorizer), the same probe and labels.
"""

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ssljax import checks, parallel
from ssljax import data as data_lib
from ssljax import evaluate as evaluate_lib
from ssljax.data import text as text_lib
from ssljax.errors import ConfigError
from ssljax.methods import common
from ssljax.models.transformer import Transformer

BOW_WORDS = 4096

CHECKS = {
  "tokenizer": checks.one_of(*text_lib.TOKENIZERS),
  "vocab_size": checks.integer(len(text_lib.SPECIALS) + 256),  # a byte-level BPE starts from all 256 bytes
  "seq_len": checks.integer(8),
  "probe_classes": checks.integer(2),
  "model_kwargs.width": checks.POSITIVE_INT,
  "model_kwargs.depth": checks.POSITIVE_INT,
  "model_kwargs.num_heads": checks.POSITIVE_INT,
  "model_kwargs.mlp_ratio": checks.POSITIVE_INT,
  "model_kwargs.max_len": checks.POSITIVE_INT,
}


def check_config(config):
  """Rules that tie keys together: the sequences fit the model's positions, the heads split the width."""
  kw = config.model_kwargs
  if config.seq_len > kw.max_len:
    raise ConfigError(
      f"config.seq_len={config.seq_len} is larger than the model's positions (config.model_kwargs.max_len="
      f"{kw.max_len}); raise max_len or shorten seq_len"
    )
  if kw.width % kw.num_heads:
    raise ConfigError(f"config.model_kwargs.width={kw.width} must be a multiple of num_heads={kw.num_heads}")
  if config.model != "transformer":
    raise ConfigError(f"config.model={config.model!r}: the text methods train model='transformer'")


@dataclasses.dataclass(frozen=True)
class Text:
  """A corpus with its tokenizer and each split's documents as token arrays."""

  corpus: text_lib.TextCorpus
  tokenizer: text_lib.Tokenizer
  docs: dict  # split -> list of int32 arrays

  def stream(self, split: str) -> np.ndarray:
    return text_lib.stream(self.docs[split])


@functools.cache
def _load(dataset: str, tokenizer: str, vocab_size: int) -> Text:
  corpus = text_lib.load_corpus(dataset)
  tok = text_lib.tokenizer_for(dataset, tokenizer, vocab_size)
  return Text(corpus, tok, {s: tok.encode(corpus.split(s)[0]) for s in ("train", "val", "test")})


def load(config) -> Text:
  if config.dataset not in data_lib.TEXT_DATASETS and not config.dataset.startswith(data_lib.TEXT_PREFIXES):
    raise ConfigError(f"config.dataset={config.dataset!r} is not a text corpus; choose stdlib_docs or text:PATH")
  return _load(config.dataset, config.tokenizer, config.vocab_size)


def info(config, text: Text) -> dict:
  """What results.json records about the data."""
  c = text.corpus
  return {
    "model": config.model,
    "corpus": c.source,
    "licence": text_lib.LICENCES.get(c.name, "that of your files"),
    "tokenizer": f"{text.tokenizer.name} ({text.tokenizer.vocab_size} tokens)",
    "documents": {s: len(c.split(s)[0]) for s in ("train", "val", "test")},
    "train_tokens": int(sum(len(d) for d in text.docs["train"])),
    "step_unit": "tokens",
  }


# ----------------------------------------------------------------------------------------- models


class TextModel(nn.Module):
  """The Transformer `encoder` with a token head (logits over the vocabulary at every position, if vocab_size) and
  a sequence head on the first position (BERT's pooler, tanh(Dense), then Dense(num_classes), if num_classes)."""

  encoder: nn.Module
  vocab_size: int = 0
  num_classes: int = 0

  @nn.compact
  def __call__(self, tokens, train: bool = False, segments=None):
    h = self.encoder(tokens, train=train, segments=segments)
    dense = functools.partial(nn.Dense, dtype=self.encoder.dtype, param_dtype=self.encoder.param_dtype)
    out = {}
    if self.vocab_size:
      out["tokens"] = _logits(dense(self.vocab_size, name="token_head")(h))
    if self.num_classes:
      pooled = jnp.tanh(dense(h.shape[-1], name="pooler")(h[:, 0]))
      out["sequence"] = _logits(dense(self.num_classes, name="sequence_head")(pooled))
    return out


def _logits(x):
  return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def encoder(config, text: Text, causal: bool, num_segments: int = 0) -> Transformer:
  dtype, param_dtype = common.dtypes(config)
  return Transformer(
    vocab_size=text.tokenizer.vocab_size,
    causal=causal,
    num_segments=num_segments,
    pad_id=text_lib.PAD,
    dtype=dtype,
    param_dtype=param_dtype,
    **dict(config.model_kwargs),
  )


def init_fn(model, seq_len: int):
  return lambda key: model.init(key, jnp.zeros((1, seq_len), jnp.int32))


def forward(model, params, tokens, segments=None):
  return model.apply({"params": params}, tokens, train=True, segments=segments)


# ----------------------------------------------------------------------------------------- batches


def windows(key, stream, n_total, length):
  """This device's rows of n_total windows stream[s : s + length], starts drawn uniformly from the global key."""
  starts = parallel.local_slice(jax.random.randint(key, (n_total,), 0, stream.shape[0] - length + 1))
  return jax.vmap(lambda s: jax.lax.dynamic_slice_in_dim(stream, s, length))(starts)


def eval_windows(stream: np.ndarray, length: int) -> np.ndarray:
  """[N, length + 1] windows overlapping by one token, so their targets (columns 1:) are stream[1:] exactly once;
  the last is padded with [PAD]."""
  n = -(-(len(stream) - 1) // length)
  padded = np.full(n * length + 1, text_lib.PAD, np.int32)
  padded[: len(stream)] = stream
  return np.stack([padded[i * length : i * length + length + 1] for i in range(n)])


def bert_mask(key, tokens, rate, vocab_size):
  """BERT's masking of one sequence: each non-special token is chosen with probability `rate`; a chosen token
  becomes [MASK] with probability 0.8, a uniformly random non-special token with 0.1, and stays itself with 0.1.
  Returns (inputs, targets) with targets −1 where not chosen."""
  k_choose, k_how, k_token = jax.random.split(key, 3)
  chosen = (jax.random.uniform(k_choose, tokens.shape) < rate) & (tokens >= len(text_lib.SPECIALS))
  how = jax.random.uniform(k_how, tokens.shape)
  random_token = jax.random.randint(k_token, tokens.shape, len(text_lib.SPECIALS), vocab_size, tokens.dtype)
  inputs = jnp.where(chosen & (how < 0.8), text_lib.MASK, jnp.where(chosen & (how < 0.9), random_token, tokens))
  return inputs, jnp.where(chosen, tokens, -1)


def masked_loss(logits, targets):
  """(Σ of cross-entropy over chosen positions of this device, its count of chosen positions, Σ correct)."""
  chosen = targets >= 0
  logp = jax.nn.log_softmax(logits)
  nll = -jnp.take_along_axis(logp, jnp.maximum(targets, 0)[..., None], -1)[..., 0]
  correct = (jnp.argmax(logits, -1) == targets) & chosen
  return jnp.sum(jnp.where(chosen, nll, 0.0)), jnp.sum(chosen), jnp.sum(correct)


def global_masked_mean(total, count):
  """This device's share of Σ_global / count_global, times the device count (the loop divides by it: the gradient
  convention), so the mean is over every chosen token of the global batch."""
  n = jax.lax.axis_size(parallel.AXIS)
  return total * n / jnp.maximum(jax.lax.psum(count, parallel.AXIS), 1)


# ----------------------------------------------------------------------------------------- the probe


@dataclasses.dataclass(frozen=True)
class Probe:
  train_x: np.ndarray  # int32 [N, seq_len] token ids
  train_y: np.ndarray
  test_x: np.ndarray
  test_y: np.ndarray
  labelled: np.ndarray
  bow_accuracy: float
  class_names: tuple


def _padded(docs, seq_len: int, start: int) -> np.ndarray:
  x = np.full((len(docs), seq_len), text_lib.PAD, np.int32)
  x[:, 0] = start
  for i, d in enumerate(docs):
    d = d[: seq_len - 1]
    x[i, 1 : 1 + len(d)] = d
  return x


def _select(text: Text, split: str, classes):
  labels = text.corpus.split(split)[1]
  keep = np.flatnonzero(np.isin(labels, classes))
  remap = np.searchsorted(classes, labels[keep]).astype(np.int32)
  return keep, remap


@functools.cache
def _bow_accuracy(dataset, tokenizer, vocab_size, classes, num_labels, seed):
  from sklearn.feature_extraction.text import CountVectorizer

  text = _load(dataset, tokenizer, vocab_size)
  classes = np.asarray(classes)
  (tr, ytr), (te, yte) = _select(text, "train", classes), _select(text, "test", classes)
  labelled, _ = data_lib.split_labelled(ytr, num_labels, len(classes), seed)
  vectorizer = CountVectorizer(max_features=BOW_WORDS)
  train_docs, test_docs = text.corpus.train, text.corpus.test
  x_train = np.log1p(vectorizer.fit_transform([train_docs[i] for i in tr]).toarray())
  x_test = np.log1p(vectorizer.transform([test_docs[i] for i in te]).toarray())
  return evaluate_lib.linear_probe(x_train, ytr, x_test, yte, labelled_idx=labelled)


def probe(config, text: Text, start: int) -> Probe:
  """The probe's documents (first token `start`), its labelled draw and the bag-of-words baseline."""
  counts = np.bincount(text.corpus.train_labels, minlength=len(text.corpus.label_names))
  k = config.probe_classes
  if np.sum(counts > 0) < k:
    raise ConfigError(
      f"config.probe_classes={k} but {config.dataset} has {np.sum(counts > 0)} labels with training documents"
    )
  classes = np.sort(np.argsort(-counts, kind="stable")[:k])
  (tr, ytr), (te, yte) = _select(text, "train", classes), _select(text, "test", classes)
  labelled, _ = data_lib.split_labelled(ytr, config.num_labels, k, config.seed)
  bow = _bow_accuracy(
    config.dataset, config.tokenizer, config.vocab_size, tuple(classes), config.num_labels, config.seed
  )
  return Probe(
    train_x=_padded([text.docs["train"][i] for i in tr], config.seq_len, start),
    train_y=ytr,
    test_x=_padded([text.docs["test"][i] for i in te], config.seq_len, start),
    test_y=yte,
    labelled=labelled,
    bow_accuracy=bow,
    class_names=tuple(text.corpus.label_names[c] for c in classes),
  )


def pooled_features(encoder_module):
  """features(model variables, token ids [B, T]) -> [B, width]: the encoder's hidden states averaged over the
  non-[PAD] tokens, inference mode. One function object per run, so the sharded extraction compiles once."""

  def features(variables, tokens):
    h = encoder_module.apply({"params": variables["params"]["encoder"]}, tokens)
    real = (tokens != text_lib.PAD)[..., None].astype(h.dtype)
    return jnp.sum(h * real, 1) / jnp.maximum(jnp.sum(real, 1), 1)

  return features


def probe_eval(features, p: Probe, init, seed: int):
  """evaluate-part(state, mesh) -> the three probe accuracies (the random-init one computed once per run)."""
  cache = {}

  def accuracy(variables, mesh):
    train_feats = parallel.batched_apply(features, variables, p.train_x, mesh)
    test_feats = parallel.batched_apply(features, variables, p.test_x, mesh)
    return evaluate_lib.linear_probe(train_feats, p.train_y, test_feats, p.test_y, labelled_idx=p.labelled)

  def evaluate(state, mesh):
    if "random_init" not in cache:
      cache["random_init"] = accuracy(jax.jit(init)(jax.random.key(seed, impl="rbg")), mesh)
    return {
      "linear_probe_accuracy": accuracy({"params": state.params}, mesh),
      "linear_probe_accuracy_random_init": cache["random_init"],
      "linear_probe_accuracy_bow": p.bow_accuracy,
    }

  return evaluate
