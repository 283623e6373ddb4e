"""Masked-token prediction (BERT's masked LM: "predict randomly masked words from sentences") with a bidirectional
Transformer encoder.

One step: every device draws the same global batch of `batch_size` windows of seq_len tokens at uniform offsets of
the packed train stream and keeps its rows; each row is masked with its own key (text.bert_mask: each non-special
token chosen with probability mask_rate, then 80% [MASK] / 10% a random token / 10% unchanged); the loss is the
cross-entropy over the chosen tokens of the GLOBAL batch (summed per device, divided by the global count).

Evaluation: the validation windows (and the test windows at the end) masked once with a fixed key, the same for
every run:
  {val,test}_masked_accuracy           argmax prediction of the chosen tokens
  {val,test}_masked_loss               their mean cross-entropy
  unigram_{val,test}_masked_accuracy   always predicting the train stream's most frequent non-special token
and the representation check of ssljax/methods/text.py.
"""

import functools

import jax
import numpy as np

from ssljax import checks, optim, parallel, train
from ssljax.data import text as text_lib
from ssljax.methods import text

MASK_RATE = checks.number(0, 1, lo_open=True, hi_open=True)
CHECKS = {**text.CHECKS, "mask_rate": MASK_RATE}
EVAL_MASK_SEED = 0


def check_config(config):
  text.check_config(config)


def masked_eval_set(stream, seq_len, rate, vocab_size):
  """[N, 2, seq_len]: windows of the stream masked with a fixed key (inputs, targets with −1 where not chosen)."""
  w = text.eval_windows(stream, seq_len)[:, :-1]
  keys = jax.random.split(jax.random.key(EVAL_MASK_SEED), len(w))
  inputs, targets = jax.jit(jax.vmap(lambda k, x: text.bert_mask(k, x, rate, vocab_size)))(keys, w)
  return np.stack([np.asarray(inputs), np.asarray(targets)], 1).astype(np.int32)


def build(config) -> train.Task:
  data = text.load(config)
  vocab = data.tokenizer.vocab_size
  enc = text.encoder(config, data, causal=False)
  model = text.TextModel(encoder=enc, vocab_size=vocab)
  b, t, rate = config.batch_size, config.seq_len, float(config.mask_rate)
  train_stream = data.stream("train")
  if len(train_stream) < t:
    raise text.ConfigError(
      f"config.seq_len={t}: the train stream of {config.dataset} has only {len(train_stream)} tokens"
    )

  def sample(arrays, key):
    k_windows, k_mask = jax.random.split(key)
    x = text.windows(k_windows, arrays["stream"], b, t)
    keys = parallel.local_slice(jax.random.split(k_mask, b))
    inputs, targets = jax.vmap(lambda k, row: text.bert_mask(k, row, rate, vocab))(keys, x)
    return {"inputs": inputs, "targets": targets}

  def loss(params, state, batch, key):
    del state, key
    logits = text.forward(model, params, batch["inputs"])["tokens"]
    total, count, correct = text.masked_loss(logits, batch["targets"])
    value = text.global_masked_mean(total, count)
    # Metrics are averaged over devices: these shares average to the global figures.
    metrics = {
      "loss": value,
      "masked_acc": text.global_masked_mean(correct.astype(value.dtype), count),
      "masked_fraction": count / batch["targets"].size,
    }
    return value, train.LossOutput(metrics, {})

  def scored(variables, xy):  # per window: (Σ cross-entropy, chosen, correct) of its chosen tokens
    logits = model.apply(variables, xy[:, 0])["tokens"]
    return jax.vmap(text.masked_loss)(logits, xy[:, 1])

  counts = np.bincount(train_stream, minlength=vocab)
  counts[: len(text_lib.SPECIALS)] = 0
  most_frequent = int(np.argmax(counts))
  eval_sets = functools.cache(lambda split: masked_eval_set(data.stream(split), t, rate, vocab))

  init = text.init_fn(model, t)
  p = text.probe(config, data, text_lib.EOS)
  probe = text.probe_eval(text.pooled_features(enc), p, init, config.seed)

  def evaluate(state, mesh, workdir, final):
    del workdir
    out = {}
    for split in ("val", "test") if final else ("val",):
      xy = eval_sets(split)
      total, count, correct = parallel.batched_apply(scored, {"params": state.params}, xy, mesh)
      n = max(int(np.sum(count)), 1)
      targets = xy[:, 1][xy[:, 1] >= 0]
      out[f"{split}_masked_accuracy"] = float(np.sum(correct)) / n
      out[f"{split}_masked_loss"] = float(np.sum(total, dtype=np.float64)) / n
      out[f"unigram_{split}_masked_accuracy"] = float(np.mean(targets == most_frequent))
    return {**out, **probe(state, mesh)}

  return train.Task(
    init=init,
    sample=sample,
    loss=loss,
    evaluate=evaluate,
    tx=optim.make(config),
    arrays={"stream": train_stream},
    images_per_step=b * t,
    log_keys=("loss", "masked_acc"),
    info={**text.info(config, data), "probe_classes": ",".join(p.class_names)},
  )
