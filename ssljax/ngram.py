"""Count-based language-model baselines over a token stream: add-one unigram and interpolated Kneser-Ney n-grams.

Pure numpy. Every n-gram of order k is one int64 key (Σ_j w_j·V^(k−1−j)), so counting and look-ups are np.unique and
np.searchsorted over sorted key arrays; V^order must fit in 63 bits (`max_order`).
"""

import math

import numpy as np


def max_order(vocab_size: int) -> int:
  """The largest order whose keys fit in int64."""
  return int(63 // math.log2(max(vocab_size, 2)))


def _keys(stream, k, vocab_size):
  """key of stream[i : i + k] for every i in 0 .. len − k."""
  n = len(stream) - k + 1
  key = np.zeros(max(n, 0), np.int64)
  for j in range(k):
    key = key * vocab_size + stream[j : j + n]
  return key


def _lookup(keys, values, queries):
  """values[keys == q] for each query (0 where absent); keys sorted."""
  pos = np.clip(np.searchsorted(keys, queries), 0, max(len(keys) - 1, 0))
  hit = keys[pos] == queries if len(keys) else np.zeros(len(queries), bool)
  return np.where(hit, values[pos] if len(keys) else 0, 0)


def unigram_log_probs(train, targets, vocab_size):
  """log P(w) = log (c(w) + 1) / (N + V): add-one unigram, natural log, for each target token."""
  counts = np.bincount(train, minlength=vocab_size).astype(np.float64)
  return np.log((counts[targets] + 1.0) / (len(train) + vocab_size))


class KneserNey:
  """Interpolated Kneser-Ney (Chen & Goodman, 1999, eq. 17 with one discount per order):

  P_k(w|h) = (max(c_k(hw) − D_k, 0) + D_k · N1+(h•) · P_{k−1}(w|h')) / Σ_w c_k(hw), with P_0 = 1/V;
  c_k is the raw count at the highest order and the continuation count N1+(•hw) below it, D_k = n1 / (n1 + 2·n2)
  from the order's count-of-counts, and an unseen context h backs off to P_{k−1} whole.
  """

  def __init__(self, order: int, vocab_size: int):
    if not 1 <= order <= max_order(vocab_size):
      raise ValueError(f"n-gram order {order} must be in [1, {max_order(vocab_size)}] for {vocab_size} tokens")
    self.order, self.vocab_size = order, vocab_size

  def fit(self, stream):
    stream = np.asarray(stream, np.int64)
    v = self.vocab_size
    self.tables = []
    upper = None  # the sorted distinct (k+1)-gram keys
    for k in range(self.order, 0, -1):
      if k == self.order:
        keys, counts = np.unique(_keys(stream, k, v), return_counts=True)
      else:  # continuation counts: how many distinct tokens precede each k-gram
        keys, counts = np.unique(upper % v**k, return_counts=True)
      upper = keys
      n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
      discount = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
      contexts, inverse = np.unique(keys // v, return_inverse=True)
      totals = np.bincount(inverse, weights=counts).astype(np.float64)
      types = np.bincount(inverse).astype(np.float64)
      self.tables.insert(0, (keys, counts.astype(np.float64), discount, contexts, totals, types))
    return self

  def log_probs(self, stream, start: int = 1):
    """Natural-log probability of each stream[i], i >= start, given the up to order−1 tokens before it in
    `stream` (fewer at the start of the stream)."""
    stream = np.asarray(stream, np.int64)
    v = self.vocab_size
    positions = np.arange(start, len(stream))
    p = np.full(len(positions), 1.0 / v)
    for k, (keys, counts, discount, contexts, totals, types) in enumerate(self.tables, start=1):
      valid = positions >= k - 1
      pos = positions[valid]
      hw = np.zeros(len(pos), np.int64)
      for j in range(k):
        hw = hw * v + stream[pos - (k - 1) + j]
      c_hw = _lookup(keys, counts, hw)
      c_h = _lookup(contexts, totals, hw // v)
      t_h = _lookup(contexts, types, hw // v)
      lower = p[valid]
      seen = c_h > 0
      mixed = (np.maximum(c_hw - discount, 0.0) + discount * t_h * lower) / np.where(seen, c_h, 1.0)
      p[valid] = np.where(seen, mixed, lower)
    return np.log(p)
