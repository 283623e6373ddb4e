"""Jigsaw puzzles (Noroozi & Favaro, 2016): cut the image into a grid of tiles, shuffle them by one of a fixed set of
permutations and predict which; the encoder learned for that pretext task is evaluated as a representation.

Tiles: a config.grid x config.grid grid of square cells over the centre of the image (grid=0: 3x3 where the cells
are at least 5 pixels wide, else 2x2, as on 8x8 digits); each tile is a config.tile_size crop (0: about 85% of the
cell, as the paper's 64 of 75) at a random position inside its cell and is standardised on its own (zero mean, unit
std per channel), so that neither edge continuity nor colour or brightness gives the order away.

Permutations: config.num_permutations of the (grid²)! orders (the paper uses 1000 of 9!), chosen greedily from the
identity on: each next one maximises its minimum Hamming distance to those already chosen (ties: the largest mean
distance, then the first in lexicographic order); permutation_set().

One step: every device draws the same global batch of `batch_size` distinct training images (labels unused; every
train image is in the pool) and takes its slice; each image (flipped where the dataset allows it) is cut into tiles
with its own key and shuffled by a uniformly drawn permutation of the set; the shared encoder runs over all the tiles
of the batch in one forward (BatchNorm over the global batch of tiles), the tile features are concatenated in the
shuffled order and an MLP head (Dense → BN → ReLU → Dense) classifies the permutation; cross-entropy.

The representation evaluated (`features`): 'image', the encoder's output on the whole image, standardised per image
as the tiles were; or 'tiles', what the jigsaw network itself computes: the encoder over the image's centred tiles in
grid order, each standardised, concatenated ([grid² · F]). The random-init probe uses the same features.
results.json adds permutation_accuracy: test images tiled with centred crops, each shuffled by a permutation drawn
from EVAL_SEED, inference mode; `jigsaw.png` shows, per test image, the shuffled tiles, the tiles put back in the
predicted order, and the tiles in their true order.
"""

import itertools
import math
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ssljax import augment, checks, losses, optim, parallel, pictures, train
from ssljax.errors import ConfigError
from ssljax.methods import common, representation
from ssljax.models import heads

EVAL_SEED = 0
PICTURE = "jigsaw.png"
NUM_SHOWN = 8

CHECKS = {
  "grid": checks.Check(
    lambda v: isinstance(v, int) and not isinstance(v, bool) and (v == 0 or v >= 2), "0 (auto) or an integer >= 2", 1
  ),
  "tile_size": checks.NON_NEGATIVE_INT,
  "num_permutations": checks.integer(2),
  "head_hidden_dim": checks.NON_NEGATIVE_INT,
  "features": checks.one_of("image", "tiles"),
}


def check_config(config):
  if config.grid and config.num_permutations > math.factorial(config.grid**2):
    raise ConfigError(
      f"config.num_permutations={config.num_permutations} is more than the {math.factorial(config.grid**2)} "
      f"orders of a {config.grid}x{config.grid} grid"
    )


def geometry(config, shape):
  """(grid, cell, tile) in pixels for images of `shape` (H, W); ConfigError if they do not fit."""
  side = min(shape)
  grid = config.grid or (3 if side // 3 >= 5 else 2)
  cell = side // grid
  if cell < 2:
    raise ConfigError(f"config.grid={grid} does not fit the {shape[0]}x{shape[1]} images (cells of {cell} px)")
  tile = config.tile_size or cell - max(1, round(0.15 * cell))
  if tile > cell:
    raise ConfigError(f"config.tile_size={tile} is larger than the {cell}-pixel cells of a {grid}x{grid} grid")
  if config.num_permutations > math.factorial(grid * grid):
    raise ConfigError(
      f"config.num_permutations={config.num_permutations} is more than the {math.factorial(grid * grid)} "
      f"orders of a {grid}x{grid} grid"
    )
  return grid, cell, tile


def permutation_set(num_tiles: int, size: int) -> np.ndarray:
  """[size, num_tiles] permutations chosen greedily for maximal minimum Hamming distance (see the module doc)."""
  every = np.array(list(itertools.permutations(range(num_tiles))), np.int8)
  if size > len(every):
    raise ValueError(f"permutation_set: {size} permutations asked of the {len(every)} of {num_tiles} tiles")
  chosen = [0]
  distance = (every != every[0]).sum(1).astype(np.int64)
  min_d, sum_d = distance.copy(), distance.copy()
  for _ in range(size - 1):
    j = int(np.argmax(min_d * (num_tiles + 1) * size + sum_d))  # min distance first, then the total
    chosen.append(j)
    distance = (every != every[j]).sum(1)
    np.minimum(min_d, distance, out=min_d)
    sum_d += distance
  return every[chosen].astype(np.int32)


def min_hamming(perms) -> int:
  """The smallest Hamming distance between two permutations of the set."""
  d = (perms[:, None, :] != perms[None, :, :]).sum(-1)
  return int(np.min(d + np.eye(len(perms), dtype=d.dtype) * perms.shape[1]))


class JigsawNet(nn.Module):
  """tiles [B, T, t, t, C] → the shared encoder over all B·T tiles → concatenated features [B, T·F] → head."""

  encoder: nn.Module
  head: nn.Module

  def __call__(self, tiles, train: bool):
    b, n = tiles.shape[:2]
    f = self.encoder(tiles.reshape((b * n,) + tiles.shape[2:]), train=train)
    return self.head(f.reshape(b, n * f.shape[-1]), train=train)


def cell_origins(grid, cell, shape):
  """Top-left corner (y, x) of each cell, row-major, for a grid centred on images of `shape`."""
  y0, x0 = (shape[0] - grid * cell) // 2, (shape[1] - grid * cell) // 2
  return np.array([(y0 + r * cell, x0 + c * cell) for r in range(grid) for c in range(grid)], np.int32)


def cut(image, offsets, origins, tile):
  """The tiles [T, t, t, C] of one image: tile i at origins[i] + offsets[i] (offsets may be traced)."""
  c = image.shape[-1]
  corners = jnp.asarray(origins) + offsets
  return jax.vmap(lambda yx: jax.lax.dynamic_slice(image, (yx[0], yx[1], jnp.zeros_like(yx[0])), (tile, tile, c)))(
    corners
  )


def build(config) -> train.Task:
  ds, labelled, _ = common.load_split(config)  # the probe's labelled subset: the same draw as FixMatch
  shape = ds.train_images.shape[1:3]
  grid, cell, tile = geometry(config, shape)
  n_tiles = grid * grid
  perms = permutation_set(n_tiles, config.num_permutations)
  origins = cell_origins(grid, cell, shape)
  encoder = common.encoder(config)
  channels = ds.train_images.shape[-1]
  tile_ds = _with_shape(ds, (tile, tile, channels))
  feature_dim = representation.check_encoder(encoder, tile_ds)
  dtype, param_dtype = common.dtypes(config)
  head = heads.MLPHead(
    hidden_dim=config.head_hidden_dim or feature_dim * n_tiles,
    out_dim=len(perms),
    num_layers=2,
    last_bn=False,
    bn_momentum=config.model_kwargs.get("bn_momentum", 0.9),
    axis_name=parallel.AXIS,
    dtype=dtype,
    param_dtype=param_dtype,
  )
  model = JigsawNet(encoder=encoder, head=head)
  x_all, _ = common.unlabelled_arrays(ds, slice(None))
  b, in_dtype = config.batch_size, common.input_dtype(config)

  def puzzle(key, image):
    u = jax.random.uniform(key, (2 * n_tiles + 2,), image.dtype)
    if ds.allow_flip:
      image = augment.flip_lr(image, u[-1])
    offsets = jnp.minimum(jnp.floor(u[: 2 * n_tiles] * (cell - tile + 1)), cell - tile).astype(jnp.int32)
    tiles = augment.standardize_image(cut(image, offsets.reshape(n_tiles, 2), origins, tile))
    label = jnp.minimum(jnp.floor(u[-2] * len(perms)), len(perms) - 1).astype(jnp.int32)
    return tiles[jnp.asarray(perms)[label]], label

  def sample(data, key):
    idx, keys = common.draw_distinct(key, b, data["x"].shape[0])
    tiles, label = jax.vmap(puzzle)(keys, common.to_float(data["x"][idx], in_dtype))
    return {"tiles": tiles, "label": label}

  def loss(params, state, batch, key):
    del key
    logits, batch_stats = common.forward(model, params, state.batch_stats, batch["tiles"])
    value = losses.cross_entropy(logits, batch["label"]).mean()
    metrics = {"loss": value, "permutation_acc": jnp.mean(jnp.argmax(logits, -1) == batch["label"])}
    return value, train.LossOutput(metrics, batch_stats)

  init = lambda key: model.init(key, jnp.zeros((1, n_tiles, tile, tile, channels), in_dtype), train=False)

  def features(variables, images):
    x = common.to_float(images, in_dtype)
    if config.features == "image":
      return encoder.apply(representation.encoder_variables(variables), augment.standardize_image(x), train=False)
    tiles = augment.standardize_image(centred_tiles(x, origins, cell, tile))
    f = encoder.apply(representation.encoder_variables(variables), tiles.reshape((-1,) + tiles.shape[2:]), train=False)
    return f.reshape(x.shape[0], n_tiles * f.shape[-1])

  def logits_fn(variables, tiles):
    return model.apply(variables, augment.standardize_image(common.to_float(tiles, in_dtype)), train=False)

  represent = representation.representation_eval(features, ds, labelled, init, config.seed)
  test_tiles, test_labels = test_puzzles(ds.test_images, perms, origins, cell, tile)

  def evaluate(state, mesh, workdir, final):
    out = represent(state, mesh, workdir, final)
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    logits = parallel.batched_apply(logits_fn, variables, test_tiles, mesh)
    out["permutation_accuracy"] = float(np.mean(np.argmax(logits, -1) == test_labels))
    if final and workdir:
      save_picture(
        test_tiles[:NUM_SHOWN],
        perms[test_labels[:NUM_SHOWN]],
        perms[np.argmax(logits[:NUM_SHOWN], -1)],
        grid,
        os.path.join(workdir, PICTURE),
      )
    return out

  info = {
    "num_classes": ds.num_classes,
    "model": config.model,
    "feature_dim": feature_dim * (n_tiles if config.features == "tiles" else 1),
    "features": config.features,
    "grid": grid,
    "tile_size": tile,
    "num_permutations": len(perms),
    "min_hamming_distance": min_hamming(perms),
  }
  return train.Task(
    init=init,
    sample=sample,
    loss=loss,
    tx=optim.make(config),
    arrays={"x": x_all},
    evaluate=evaluate,
    images_per_step=b,
    log_keys=("loss", "permutation_acc"),
    info=info,
  )


def centred_tiles(images, origins, cell, tile):
  """[B, T, t, t, C]: each image's tiles in grid order, each centred in its cell."""
  centred = jnp.full((len(origins), 2), (cell - tile) // 2, jnp.int32)
  return jax.vmap(lambda image: cut(image, centred, origins, tile))(images)


def test_puzzles(images, perms, origins, cell, tile):
  """Host: the test images' centred tiles, each image shuffled by a permutation index drawn from EVAL_SEED."""
  tiles = np.asarray(centred_tiles(images, origins, cell, tile))
  labels = np.random.default_rng(EVAL_SEED).integers(0, len(perms), len(images))
  return np.ascontiguousarray(tiles[np.arange(len(images))[:, None], perms[labels]]), labels


def assemble(tiles, grid, gap: int = 1):
  """Tiles [T, t, t, C] laid out row-major, `gap` grey pixels apart."""
  t, c = tiles.shape[1], tiles.shape[-1]
  side = grid * t + (grid - 1) * gap
  canvas = np.full((side, side, c), 128, np.uint8)  # grey gaps: the grid stays visible on white and black
  for i, image in enumerate(tiles):
    r, col = divmod(i, grid)
    canvas[r * (t + gap) : r * (t + gap) + t, col * (t + gap) : col * (t + gap) + t] = image
  return canvas


def save_picture(shuffled, true_perms, predicted_perms, grid, path):
  """Rows: shuffled tiles as the network sees their order; put back by the predicted order; put back by the truth."""
  put_back = lambda tiles, perm: tiles[np.argsort(perm)]  # shuffled[i] is the tile of cell perm[i]
  rows = [
    [assemble(s, grid) for s in shuffled],
    [assemble(put_back(s, p), grid) for s, p in zip(shuffled, predicted_perms)],
    [assemble(put_back(s, p), grid) for s, p in zip(shuffled, true_perms)],
  ]
  return pictures.save_grid([np.stack(r) for r in rows], path)


def _with_shape(ds, shape):
  """ds with train images of `shape` (for the encoder's shape check on tiles)."""
  import dataclasses

  return dataclasses.replace(ds, train_images=np.zeros((2,) + tuple(shape), np.uint8))
