"""A small pre-LayerNorm Transformer over token ids, causal (next-token) or bidirectional (masked-token, NSP)."""

from typing import Any

import flax.linen as nn
import jax.numpy as jnp


class Attention(nn.Module):
  """Multi-head self-attention. The keys have no bias: softmax over keys is invariant to it, so its gradient is 0."""

  num_heads: int
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, mask):
    width = x.shape[-1]
    heads = (self.num_heads, width // self.num_heads)
    proj = lambda name, bias=True: nn.DenseGeneral(
      heads, use_bias=bias, dtype=self.dtype, param_dtype=self.param_dtype, name=name
    )(x)
    q, k, v = proj("query"), proj("key", bias=False), proj("value")
    h = nn.dot_product_attention(q, k, v, mask=mask, dtype=self.dtype)
    return nn.DenseGeneral(width, axis=(-2, -1), dtype=self.dtype, param_dtype=self.param_dtype, name="out")(h)


class Block(nn.Module):
  """x + Attention(LN(x)), then x + MLP(LN(x)) (pre-LN, GELU)."""

  num_heads: int
  mlp_dim: int
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, mask):
    norm = lambda: nn.LayerNorm(dtype=self.dtype, param_dtype=self.param_dtype)
    h = Attention(self.num_heads, self.dtype, self.param_dtype)(norm()(x), mask)
    x = x + h
    h = nn.Dense(self.mlp_dim, dtype=self.dtype, param_dtype=self.param_dtype)(norm()(x))
    h = nn.Dense(x.shape[-1], dtype=self.dtype, param_dtype=self.param_dtype)(nn.gelu(h))
    return x + h


class Transformer(nn.Module):
  """Token ids [B, T] -> hidden states [B, T, width] (after a final LayerNorm).

  Learned positions for up to `max_len` tokens; `num_segments` > 0 adds segment embeddings (sentence A / B).
  Keys equal to `pad_id` are masked out of attention, so padding never changes the other positions.
  """

  vocab_size: int
  width: int = 128
  depth: int = 4
  num_heads: int = 4
  mlp_ratio: int = 4
  max_len: int = 128
  causal: bool = False
  num_segments: int = 0
  pad_id: int = -1
  axis_name: str | None = None  # the encoders' common signature; a Transformer has no cross-batch statistics
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, tokens, train: bool = False, segments=None):
    del train  # no dropout and no BatchNorm: train and inference mode are the same function
    b, t = tokens.shape
    if t > self.max_len:
      raise ValueError(f"sequence length {t} is larger than the model's {self.max_len} positions (max_len)")
    embed = nn.Embed(self.vocab_size, self.width, dtype=self.dtype, param_dtype=self.param_dtype, name="embed")
    x = embed(tokens)
    pos = self.param("pos_embed", nn.initializers.normal(0.02), (self.max_len, self.width), self.param_dtype)
    x = x + pos[:t].astype(x.dtype)
    if self.num_segments:
      seg = jnp.zeros_like(tokens) if segments is None else segments
      x = x + nn.Embed(self.num_segments, self.width, dtype=self.dtype, param_dtype=self.param_dtype)(seg)
    mask = jnp.broadcast_to((tokens != self.pad_id)[:, None, None, :], (b, 1, t, t))
    if self.causal:
      mask = mask & nn.make_causal_mask(tokens, dtype=bool)
    for _ in range(self.depth):
      x = Block(self.num_heads, self.mlp_ratio * self.width, self.dtype, self.param_dtype)(x, mask)
    return nn.LayerNorm(dtype=self.dtype, param_dtype=self.param_dtype)(x)
