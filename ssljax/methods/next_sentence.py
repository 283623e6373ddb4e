"""Next-sentence prediction (BERT's NSP: "predict if a given sentence is in continuation to the first sentence"),
optionally joint with masked-token prediction as in BERT (mlm_weight > 0).

Sentences: each document's paragraphs cut after '.', '!' or '?' (data.text.sentences), tokenised one by one. A pair
is [CLS] A [SEP] B [SEP], segment 0 up to the first [SEP] and 1 after it, padded to seq_len; A keeps its last and B
its first (seq_len − 3) // 2 tokens. A is a sentence that has a successor in its document; with probability 1/2, B is
that successor (label 1), else the successor of another such sentence drawn uniformly (label 0): B is drawn from
the same sentences in both classes, so that a second sentence's style or length tells nothing.

One step: every device draws the same global batch of `batch_size` pairs and keeps its rows; the loss is the
cross-entropy of the 2-way head on [CLS] (BERT's pooler: tanh(Dense)), plus mlm_weight × the masked-token loss of
masked_token.py on the same (masked) pairs.

Evaluation: every consecutive pair of the validation documents (test documents at the end), labelled by a fixed
draw, the same for every run: {val,test}_nsp_accuracy (chance is 50%), and the representation check of
ssljax/methods/text.py.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ssljax import checks, losses, optim, parallel, train
from ssljax.data import text as text_lib
from ssljax.methods import masked_token, text

CHECKS = {**text.CHECKS, "mask_rate": masked_token.MASK_RATE, "mlm_weight": checks.NON_NEGATIVE}
EVAL_PAIR_SEED = 0


def check_config(config):
  text.check_config(config)


def sentence_table(docs_text, tokenizer):
  """(stream, start, length, first): the sentences' tokens end to end, where each starts and how long it is, and
  the indices of the sentences whose successor (index + 1) is in the same document."""
  sents, first = [], []
  for doc in docs_text:
    s = text_lib.sentences(doc)
    first += range(len(sents), len(sents) + len(s) - 1)
    sents += s
  ids = tokenizer.encode(sents) if sents else []
  length = np.asarray([len(i) for i in ids], np.int32)
  start = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int32) if len(ids) else np.zeros(0, np.int32)
  stream = np.concatenate(ids).astype(np.int32) if ids else np.zeros(0, np.int32)
  return stream, start, length, np.asarray(first, np.int32)


def pair_layout(stream, a_start, a_len, b_start, b_len, seq_len):
  """tokens, segments [seq_len] of [CLS] A [SEP] B [SEP] [PAD]...; A keeps its last, B its first (T − 3) // 2."""
  cap = (seq_len - 3) // 2
  la, lb = jnp.minimum(a_len, cap), jnp.minimum(b_len, cap)
  p = jnp.arange(seq_len)
  last = stream.shape[0] - 1
  from_a = stream[jnp.clip(a_start + a_len - la + p - 1, 0, last)]
  from_b = stream[jnp.clip(b_start + p - la - 2, 0, last)]
  tokens = jnp.select(
    [p == 0, p <= la, p == la + 1, p <= la + 1 + lb, p == la + lb + 2],
    [text_lib.CLS, from_a, text_lib.SEP, from_b, text_lib.SEP],
    text_lib.PAD,
  )
  segments = ((p > la + 1) & (p <= la + lb + 2)).astype(jnp.int32)
  return tokens.astype(jnp.int32), segments


def draw_pairs(key, first, n):
  """(A index, B index, label) of n pairs: B is A's successor (label 1) or another pair's successor (label 0)."""
  k_a, k_coin, k_other = jax.random.split(key, 3)
  num = first.shape[0]
  u = jax.random.randint(k_a, (n,), 0, num)
  v = jax.random.randint(k_other, (n,), 0, num)
  a, other = first[u], first[v] + 1
  other = jnp.where(other == a + 1, first[(v + 1) % num] + 1, other)  # never the true successor by chance
  label = jax.random.bernoulli(k_coin, 0.5, (n,)).astype(jnp.int32)
  return a, jnp.where(label == 1, a + 1, other), label


def pair_eval_set(table, seq_len):
  """[N, 3, seq_len]: (tokens, segments, label in every column) of one pair per consecutive pair of the split."""
  stream, start, length, first = map(jnp.asarray, table)
  n = len(first)
  a, b, label = draw_pairs(jax.random.key(EVAL_PAIR_SEED), first, n)
  layout = jax.jit(jax.vmap(lambda i, j: pair_layout(stream, start[i], length[i], start[j], length[j], seq_len)))
  tokens, segments = layout(a, b)
  labels = jnp.broadcast_to(label[:, None], tokens.shape)
  return np.stack([np.asarray(tokens), np.asarray(segments), np.asarray(labels)], 1).astype(np.int32)


@functools.cache
def _tables(dataset, tokenizer, vocab_size, split):
  data = text._load(dataset, tokenizer, vocab_size)
  return sentence_table(data.corpus.split(split)[0], data.tokenizer)


def build(config) -> train.Task:
  data = text.load(config)
  vocab = data.tokenizer.vocab_size
  tables = {s: _tables(config.dataset, config.tokenizer, config.vocab_size, s) for s in ("train", "val", "test")}
  for split, table in tables.items():
    if len(table[3]) < 2:
      raise text.ConfigError(
        f"{config.dataset}: the {split} documents hold {len(table[3])} pairs of consecutive sentences; "
        "next-sentence prediction needs documents of several sentences"
      )
  mlm = config.mlm_weight > 0
  enc = text.encoder(config, data, causal=False, num_segments=2)
  model = text.TextModel(encoder=enc, vocab_size=vocab if mlm else 0, num_classes=2)
  b, t, rate = config.batch_size, config.seq_len, float(config.mask_rate)

  def sample(arrays, key):
    k_pairs, k_mask = jax.random.split(key)
    a, bb, label = jax.tree.map(parallel.local_slice, draw_pairs(k_pairs, arrays["first"], b))
    s, n = arrays["start"], arrays["length"]
    layout = lambda i, j: pair_layout(arrays["stream"], s[i], n[i], s[j], n[j], t)
    tokens, segments = jax.vmap(layout)(a, bb)
    batch = {"tokens": tokens, "segments": segments, "label": label}
    if mlm:
      keys = parallel.local_slice(jax.random.split(k_mask, b))
      batch["tokens"], batch["targets"] = jax.vmap(lambda k, x: text.bert_mask(k, x, rate, vocab))(keys, tokens)
    return batch

  def loss(params, state, batch, key):
    del state, key
    out = text.forward(model, params, batch["tokens"], batch["segments"])
    nsp = losses.cross_entropy(out["sequence"], batch["label"]).mean()
    metrics = {"nsp_loss": nsp, "nsp_acc": jnp.mean(jnp.argmax(out["sequence"], -1) == batch["label"])}
    value = nsp
    if mlm:
      total, count, correct = text.masked_loss(out["tokens"], batch["targets"])
      masked = text.global_masked_mean(total, count)
      value = nsp + config.mlm_weight * masked
      metrics.update(masked_loss=masked, masked_acc=text.global_masked_mean(correct.astype(masked.dtype), count))
    return value, train.LossOutput({"loss": value, **metrics}, {})

  def predict(variables, x):  # per pair: 1 where the NSP head is right
    logits = model.apply(variables, x[:, 0], segments=x[:, 1])["sequence"]
    return (jnp.argmax(logits, -1) == x[:, 2, 0]).astype(jnp.int32)

  eval_sets = functools.cache(lambda split: pair_eval_set(tables[split], t))
  init = text.init_fn(model, t)
  p = text.probe(config, data, text_lib.CLS)
  probe = text.probe_eval(text.pooled_features(enc), p, init, config.seed)

  def evaluate(state, mesh, workdir, final):
    del workdir
    out = {}
    for split in ("val", "test") if final else ("val",):
      correct = parallel.batched_apply(predict, {"params": state.params}, eval_sets(split), mesh)
      out[f"{split}_nsp_accuracy"] = float(np.mean(correct))
    return {**out, **probe(state, mesh)}

  stream, start, length, first = tables["train"]
  return train.Task(
    init=init,
    sample=sample,
    loss=loss,
    evaluate=evaluate,
    tx=optim.make(config),
    arrays={"stream": stream, "start": start, "length": length, "first": first},
    images_per_step=b * t,
    log_keys=("loss", "nsp_acc", "masked_acc"),
    info={
      **text.info(config, data),
      "sentence_pairs": {s: len(tables[s][3]) for s in tables},
      "probe_classes": ",".join(p.class_names),
    },
  )
