"""Next-token prediction ("predict the next word given the previous words"): a causal Transformer language model.

One step: every device draws the same global batch of `batch_size` windows of seq_len + 1 tokens at uniform offsets
of the packed train stream ([EOS] doc [EOS] doc ...) and keeps its rows; the loss is the mean cross-entropy of each
token given the ones before it.

Evaluation on the validation stream (and the test stream at the end), cut into windows that overlap by one token so
that every token after the first is predicted once, with the context its window gives:
  {val,test}_perplexity        exp(mean cross-entropy per token)
  {val,test}_bits_per_byte     total cross-entropy in bits / UTF-8 bytes of the predicted tokens ([EOS] counts 1)
  unigram_{val,test}_*         the add-one unigram of the train stream, on the same tokens
  ngram_{val,test}_*           interpolated Kneser-Ney on the train stream, each token given the n − 1 tokens
                               before it in the stream; n (ngram_order in results.json) is the order from 2 to
                               ngram_max_order with the lowest validation perplexity: the strongest of these baselines
and the representation check of ssljax/methods/text.py.
"""

import functools

import jax.numpy as jnp
import numpy as np

from ssljax import checks, losses, ngram, optim, parallel, train
from ssljax.data import text as text_lib
from ssljax.methods import text

CHECKS = {**text.CHECKS, "ngram_max_order": checks.integer(2, ngram.max_order(len(text_lib.SPECIALS) + 256))}


def check_config(config):
  text.check_config(config)


def build(config) -> train.Task:
  data = text.load(config)
  vocab = data.tokenizer.vocab_size
  if config.ngram_max_order > ngram.max_order(vocab):
    raise text.ConfigError(
      f"config.ngram_max_order={config.ngram_max_order} must be <= {ngram.max_order(vocab)} for {vocab} tokens"
    )
  enc = text.encoder(config, data, causal=True)
  model = text.TextModel(encoder=enc, vocab_size=vocab)
  b, t = config.batch_size, config.seq_len
  train_stream = data.stream("train")
  if len(train_stream) < t + 1:
    raise text.ConfigError(
      f"config.seq_len={t}: the train stream of {config.dataset} has only {len(train_stream)} tokens"
    )

  def sample(arrays, key):
    return {"x": text.windows(key, arrays["stream"], b, t + 1)}

  def loss(params, state, batch, key):
    del state, key
    x = batch["x"]
    logits = text.forward(model, params, x[:, :-1])["tokens"]
    value = losses.cross_entropy(logits, x[:, 1:]).mean()
    metrics = {"loss": value, "token_acc": jnp.mean(jnp.argmax(logits, -1) == x[:, 1:])}
    return value, train.LossOutput(metrics, {})

  def nll(variables, w):  # per window: Σ cross-entropy over its real targets
    logits = model.apply(variables, w[:, :-1])["tokens"]
    real = w[:, 1:] != text_lib.PAD
    return jnp.sum(jnp.where(real, losses.cross_entropy(logits, jnp.maximum(w[:, 1:], 0)), 0.0), -1)

  token_bytes = data.tokenizer.token_bytes
  splits = {s: data.stream(s) for s in ("val", "test")}
  win = {s: text.eval_windows(v, t) for s, v in splits.items()}

  def scores(prefix, nats, split):
    targets = splits[split][1:]
    return {
      f"{prefix}{split}_perplexity": float(np.exp(nats / len(targets))),
      f"{prefix}{split}_bits_per_byte": float(nats / np.log(2) / np.sum(token_bytes[targets])),
    }

  @functools.cache
  def baselines():  # host numpy, once per run: the unigram, and the Kneser-Ney order that is best on validation
    out, best = {}, None
    for split in ("val", "test"):
      unigram = ngram.unigram_log_probs(train_stream, splits[split][1:], vocab)
      out.update(scores("unigram_", -np.sum(unigram), split))
    for order in range(2, config.ngram_max_order + 1):
      kn = ngram.KneserNey(order, vocab).fit(train_stream)
      nats = {split: -np.sum(kn.log_probs(splits[split])) for split in ("val", "test")}
      if best is None or nats["val"] < best[1]["val"]:
        best = order, nats
    order, nats = best
    for split in ("val", "test"):
      out.update(scores("ngram_", nats[split], split))
    return {**out, "ngram_order": order}

  init = text.init_fn(model, t)
  p = text.probe(config, data, text_lib.EOS)
  probe = text.probe_eval(text.pooled_features(enc), p, init, config.seed)

  def evaluate(state, mesh, workdir, final):
    del workdir
    out = {}
    for split in ("val", "test") if final else ("val",):
      per_window = parallel.batched_apply(nll, {"params": state.params}, win[split], mesh)
      out.update(scores("", np.sum(per_window, dtype=np.float64), split))
      out.update({k: v for k, v in baselines().items() if f"_{split}_" in k})
    out["val_loss"] = float(np.log(out["val_perplexity"]))
    out["ngram_order"] = baselines()["ngram_order"]
    return {**out, **probe(state, mesh)}

  return train.Task(
    init=init,
    sample=sample,
    loss=loss,
    evaluate=evaluate,
    tx=optim.make(config),
    arrays={"stream": train_stream},
    images_per_step=b * t,
    log_keys=("loss", "token_acc"),
    info={**text.info(config, data), "probe_classes": ",".join(p.class_names)},
  )
