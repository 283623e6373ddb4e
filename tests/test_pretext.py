"""The image pretext tasks (jigsaw, inpainting, colorization, denoising, deblurring): their pieces against
straightforward float64 references, a run of each with its results and pictures, and bad input."""

import itertools
import math
import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from ssljax import augment, losses, methods, pictures, train
from ssljax.errors import ConfigError, UserError
from ssljax.methods import colorization, common, denoising, inpainting, jigsaw, reconstruction, representation

from helpers import assert_picture, read_json, tiny_config

REPORT_KEYS = (
  "linear_probe_accuracy",
  "linear_probe_accuracy_all",
  "knn_accuracy",
  "kmeans_nmi",
  "linear_probe_accuracy_random_init",
)


@pytest.fixture
def x64():
  with jax.enable_x64(True):
    yield


# ----------------------------------------------------------------- losses


def test_weighted_l2_matches_a_loop(x64):
  rng = np.random.default_rng(0)
  pred, target = rng.normal(size=(3, 4, 5, 2)), rng.normal(size=(3, 4, 5, 2))
  weight = rng.uniform(size=(3, 4, 5, 1))
  got = np.asarray(losses.weighted_l2(jnp.asarray(pred), jnp.asarray(target), jnp.asarray(weight)))
  for b in range(3):
    num = den = 0.0
    for i, j, c in itertools.product(range(4), range(5), range(2)):
      num += weight[b, i, j, 0] * (pred[b, i, j, c] - target[b, i, j, c]) ** 2
      den += weight[b, i, j, 0]
    np.testing.assert_allclose(got[b], num / den, rtol=1e-12)


def test_rebalanced_cross_entropy_matches_a_loop(x64):
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(2, 3, 4, 6))
  target = rng.uniform(size=(2, 3, 4, 6))
  target /= target.sum(-1, keepdims=True)
  weight = rng.uniform(size=(2, 3, 4))
  got = np.asarray(losses.rebalanced_cross_entropy(jnp.asarray(logits), jnp.asarray(target), jnp.asarray(weight)))
  for b in range(2):
    total = 0.0
    for i, j in itertools.product(range(3), range(4)):
      z = logits[b, i, j]
      log_p = z - math.log(sum(math.exp(v) for v in z))
      total -= weight[b, i, j] * sum(t * lp for t, lp in zip(target[b, i, j], log_p))
    np.testing.assert_allclose(got[b], total / 12, rtol=1e-12)


# ----------------------------------------------------------------- augmentations and colour


def test_lab_conversions_match_scikit_image(x64):
  color = pytest.importorskip("skimage.color")
  rgb = np.random.default_rng(2).random((20, 20, 3))
  lab = color.rgb2lab(rgb)
  np.testing.assert_allclose(np.asarray(augment.rgb_to_lab(jnp.asarray(rgb))), lab, atol=1e-9)
  wide = np.random.default_rng(3).uniform([0, -110, -110], [100, 110, 110], (20, 20, 3))  # out-of-gamut too
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # scikit-image warns about the clipped out-of-gamut colours
    expected = color.lab2rgb(wide)
  np.testing.assert_allclose(np.asarray(augment.lab_to_rgb(jnp.asarray(wide))), expected, atol=1e-9)


def test_gaussian_blur_matches_a_loop(x64):
  image = np.random.default_rng(4).random((7, 6, 2))
  sigma, radius = 1.3, 3
  got = np.asarray(augment.gaussian_blur(jnp.asarray(image), jnp.asarray(sigma), radius))
  w = np.array([math.exp(-(t * t) / (2 * sigma * sigma)) for t in range(-radius, radius + 1)])
  w /= w.sum()
  h, wd, _ = image.shape
  clamp = lambda v, n: min(max(v, 0), n - 1)
  rows = np.zeros_like(image)
  for i, j in itertools.product(range(h), range(wd)):
    rows[i, j] = sum(w[k + radius] * image[clamp(i + k, h), j] for k in range(-radius, radius + 1))
  expected = np.zeros_like(image)
  for i, j in itertools.product(range(h), range(wd)):
    expected[i, j] = sum(w[k + radius] * rows[i, clamp(j + k, wd)] for k in range(-radius, radius + 1))
  np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_standardize_image_and_crop(x64):
  image = jnp.asarray(np.random.default_rng(5).random((6, 6, 3)))
  z = np.asarray(augment.standardize_image(image, eps=0.0))
  np.testing.assert_allclose(z.mean((0, 1)), 0.0, atol=1e-12)
  np.testing.assert_allclose(z.std((0, 1)), 1.0, rtol=1e-12)
  crop = np.asarray(augment.crop(image, jnp.asarray([0.999, 0.0]), 4))
  np.testing.assert_array_equal(crop, np.asarray(image)[2:6, 0:4])


# ----------------------------------------------------------------- colorization pieces


def test_ab_bins_are_the_grid_cells_srgb_colours_fall_in():
  color = pytest.importorskip("skimage.color")
  levels = np.arange(0, 256, 8) / 255.0
  rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 1, 3)
  cells = np.unique(np.round(color.rgb2lab(rgb).reshape(-1, 3)[:, 1:] / 10), axis=0) * 10
  np.testing.assert_array_equal(colorization.ab_bins(step=8), cells)
  assert len(colorization.ab_bins()) == 261  # every 2nd 8-bit level; every level gives the same cells


def test_soft_encoding_and_annealed_mean(x64):
  bins = colorization.ab_bins().astype(np.float64)
  ab = np.random.default_rng(6).uniform(-60, 60, (10, 2))
  target, nearest = jax.device_get(colorization.soft_encode(jnp.asarray(ab), bins))
  for row, t, n in zip(ab, target, nearest):
    d2 = ((bins - row) ** 2).sum(-1)
    order = np.argsort(d2)
    assert n == order[0]
    expected = np.zeros(len(bins))
    expected[order[:5]] = np.exp(-d2[order[:5]] / (2 * 5.0**2))
    np.testing.assert_allclose(t, expected / expected.sum(), rtol=1e-9, atol=1e-15)
  logits = np.random.default_rng(7).normal(size=(4, len(bins)))
  for temperature in (1.0, 0.38):
    p = np.exp(logits / temperature)
    p /= p.sum(-1, keepdims=True)
    got = np.asarray(colorization.annealed_mean(jnp.asarray(logits), bins, temperature))
    np.testing.assert_allclose(got, p @ bins, rtol=1e-9)


def test_rebalance_weights():
  bins = colorization.ab_bins()
  ab = np.random.default_rng(8).normal(0, 15, (5000, 2)).astype(np.float32)
  counts = np.bincount(colorization.nearest_bins(ab, bins), minlength=len(bins))
  w = colorization.rebalance_weights(ab, bins, 0.5)
  d2 = ((bins[:, None] - bins[None]) ** 2).sum(-1).astype(np.float64)
  prior = np.exp(-d2 / 50) @ (counts / counts.sum())
  prior /= prior.sum()
  np.testing.assert_allclose(np.sum(prior * w), 1.0, rtol=1e-5)
  assert w[np.argmax(prior)] < 1 < w.max()  # common colours are weighed down, rare ones up
  np.testing.assert_allclose(colorization.rebalance_weights(ab, bins, 1.0), 1.0, rtol=1e-5)  # λ=1: no rebalancing


def test_colour_metrics():
  err = np.array([0.0, 10.0, 200.0])
  assert colorization.ab_auc(err) == pytest.approx(np.mean([(t >= 0) + (t >= 10) for t in range(151)]) / 3)
  grey = np.full((2, 4, 4, 3), 0.4)
  assert colorization.colourfulness(grey) == 0.0
  red = np.zeros((1, 4, 4, 3))
  red[..., 0] = 1.0
  assert colorization.colourfulness(red) == pytest.approx(0.3 * math.hypot(255.0, 127.5))


# ----------------------------------------------------------------- inpainting and denoising pieces


def test_masks(x64):
  config = tiny_config("inpainting", mask="block", mask_size=3)
  for seed in range(5):
    m = np.asarray(inpainting.hole(jax.random.key(seed), (8, 7), config, jnp.float64))[..., 0]
    ys, xs = np.nonzero(m)
    assert m.sum() == 9 and ys.max() - ys.min() == 2 and xs.max() - xs.min() == 2
  central = np.asarray(inpainting.hole(jax.random.key(0), (8, 8), tiny_config("inpainting", mask="central"), float))
  assert central[2:6, 2:6].all() and central.sum() == 16
  config = tiny_config("inpainting", mask="patches", patch_size=2, mask_ratio=0.25)
  patches = np.asarray(inpainting.hole(jax.random.key(1), (8, 8), config, jnp.float64))[..., 0]
  assert patches.sum() == 4 * 4 and (patches.reshape(4, 2, 4, 2).std((1, 3)) == 0).all()
  scipy_ndimage = pytest.importorskip("scipy.ndimage")
  dilated = np.asarray(inpainting.dilate(jnp.asarray(patches[..., None]), 1))[..., 0]
  np.testing.assert_array_equal(dilated, scipy_ndimage.binary_dilation(patches, np.ones((3, 3))))


def test_inpainting_fills_with_the_mean_and_weighs_the_border(x64):
  config = tiny_config("inpainting", mask="central", mask_size=2, border=1, border_weight=10.0)
  ds = type("ds", (), {"mean": (0.25,), "train_images": np.zeros((1, 6, 6, 1), np.uint8)})
  image = jnp.asarray(np.random.default_rng(9).random((6, 6, 1)))
  out, weight, hidden = inpainting.corruption(config, ds)(jax.random.key(0), image)
  assert np.all(np.asarray(out)[2:4, 2:4] == 0.25) and np.sum(np.asarray(out) == 0.25) == 4
  assert np.asarray(weight).sum() == 4 * 1 + (16 - 4) * 10 and np.asarray(hidden).sum() == 4


def test_masking_noise_rate(x64):
  corrupt = denoising.corruption(0.0, 0.3)
  image = jnp.full((64, 64, 1), 0.5)
  out = np.asarray(jax.vmap(corrupt, in_axes=(0, None))(jax.random.split(jax.random.key(0), 10), image)[0])
  n = out.size
  assert abs(np.mean(out == 0) - 0.3) < 5 * math.sqrt(0.3 * 0.7 / n)  # 5 binomial standard deviations


def test_psnr():
  a = np.zeros((2, 4, 4, 1))
  b = np.full((2, 4, 4, 1), 0.1)
  assert reconstruction.psnr(b, a) == pytest.approx(20.0)


# ----------------------------------------------------------------- jigsaw pieces


def _greedy_reference(num_tiles, size):
  every = list(itertools.permutations(range(num_tiles)))
  ham = lambda p, q: sum(a != b for a, b in zip(p, q))
  chosen = [every[0]]
  while len(chosen) < size:
    best = max(
      (p for p in every if p not in chosen),
      key=lambda p: (min(ham(p, q) for q in chosen), sum(ham(p, q) for q in chosen), -every.index(p)),
    )
    chosen.append(best)
  return np.array(chosen)


@pytest.mark.parametrize("num_tiles, size", [(4, 24), (4, 7), (5, 12)])
def test_permutation_set_is_the_greedy_max_min_hamming_choice(num_tiles, size):
  perms = jigsaw.permutation_set(num_tiles, size)
  np.testing.assert_array_equal(perms, _greedy_reference(num_tiles, size))
  assert len({tuple(p) for p in perms}) == size
  assert jigsaw.min_hamming(perms) >= 2


def test_puzzles_on_device_match_the_host_puzzles():
  """With tiles as large as their cells the crop offsets are 0: the device tiling equals the host test tiling."""
  images = np.random.default_rng(10).integers(0, 255, (3, 7, 7, 2)).astype(np.uint8)
  perms = jigsaw.permutation_set(4, 6)
  origins = jigsaw.cell_origins(2, 3, (7, 7))
  host, labels = jigsaw.test_puzzles(images, perms, origins, 3, 3)
  zeros = jnp.zeros((4, 2), jnp.int32)
  for image, tiles, label in zip(images, host, labels):
    cut = np.asarray(jigsaw.cut(jnp.asarray(image), zeros, origins, 3))
    np.testing.assert_array_equal(cut[perms[label]], tiles)
  np.testing.assert_array_equal(host[0][np.argsort(perms[labels[0]])][0], images[0, :3, :3])  # put back: cell 0


# ----------------------------------------------------------------- pictures


def test_save_grid(tmp_path):
  rows = [np.random.default_rng(11).random((5, 8, 8, 3)) for _ in range(3)]
  path = str(tmp_path / "grid.png")
  size = pictures.save_grid(rows, path, min_side=16, gap=2)
  assert size == (5 * (16 + 2) + 2, 3 * (16 + 2) + 2)
  with Image.open(path) as image:
    assert image.size == size and image.mode == "RGB"


# ----------------------------------------------------------------- runs


RUNS = {
  "jigsaw": ("jigsaw.png", ("permutation_accuracy",)),
  "inpainting": ("reconstructions.png", ("hidden_mse", "hidden_mse_mean_fill")),
  "denoising": ("reconstructions.png", ("psnr", "psnr_input")),
  "deblurring": ("reconstructions.png", ("psnr", "psnr_input")),
}


@pytest.mark.parametrize("method", sorted(RUNS))
def test_run_writes_results_and_pictures(method, tmp_path):
  workdir = str(tmp_path / "w")
  picture, keys = RUNS[method]
  train.train_and_evaluate(tiny_config(method), workdir, methods.get(method))
  out = read_json(os.path.join(workdir, "results.json"))
  assert out["method"] == method and out["steps"] == 4
  for key in REPORT_KEYS:
    assert 0.0 <= out[key] <= 1.0, key
  for key in keys:
    assert np.isfinite(out[key]), key
  assert_picture(os.path.join(workdir, "tsne.png"), (300, 300))
  assert_picture(os.path.join(workdir, picture), (8 * 64, 3 * 64))


def test_jigsaw_tile_features(tmp_path):
  """features='tiles': the encoder over the centred tiles in grid order, concatenated."""
  images = np.random.default_rng(3).random((2, 7, 7, 1)).astype(np.float32)
  origins = jigsaw.cell_origins(2, 3, (7, 7))
  got = np.asarray(jigsaw.centred_tiles(jnp.asarray(images), origins, 3, 2))
  want = np.stack([images[:, y : y + 2, x : x + 2] for y, x in origins], 1)  # offset (3 - 2) // 2 = 0
  np.testing.assert_array_equal(got, want)
  config = tiny_config("jigsaw", features="tiles")
  out = train.train_and_evaluate(config, str(tmp_path / "w"), methods.get("jigsaw"))
  ds = common.load_split(config)[0]
  per_tile = representation.check_encoder(common.encoder(config), ds)
  assert out["features"] == "tiles" and out["feature_dim"] == out["grid"] ** 2 * per_tile
  for key in REPORT_KEYS:
    assert 0.0 <= out[key] <= 1.0, key


def test_colorization_run_on_photos(tmp_path):
  workdir = str(tmp_path / "w")
  train.train_and_evaluate(tiny_config("colorization"), workdir, colorization)
  out = read_json(os.path.join(workdir, "results.json"))
  assert out["dataset"] == "photos" and out["num_classes"] == 0 and "linear_probe_accuracy" not in out
  assert out["representation_eval"].startswith("skipped")
  for key in ("ab_error", "ab_error_grey", "ab_error_mean_colour", "colourfulness", "colourfulness_truth"):
    assert np.isfinite(out[key]) and out[key] >= 0, key
  # Grey: R = G = B up to float32 rounding of the Lab conversion (~1e-5 of 255), far below a visible tint.
  assert 0 <= out["ab_auc"] <= 1 and out["colourfulness_grey"] < 0.05
  assert_picture(os.path.join(workdir, "colorization.png"), (3 * 128, 3 * 128))
  assert not os.path.exists(os.path.join(workdir, "tsne.png"))


def test_photos_dataset():
  from ssljax import data

  ds = data.load("photos")
  assert ds.train_images.shape[1:] == (128, 128, 3) and len(ds.test_images) == 3
  assert ds.num_classes == 0 and (ds.train_labels == -1).all()
  with pytest.raises(UserError, match="no class labels") as info:
    methods.get("rotnet").build(tiny_config("rotnet", dataset="photos"))
  assert "\n" not in str(info.value)


# ----------------------------------------------------------------- bad input: one line, before any compile


@pytest.mark.parametrize(
  "method, overrides, needle",
  [
    ("jigsaw", {"grid": 5}, "config.grid=5 does not fit"),
    ("jigsaw", {"tile_size": 5}, "config.tile_size=5"),
    ("jigsaw", {"num_permutations": 25}, "config.num_permutations=25"),
    ("jigsaw", {"grid": 2, "num_permutations": 25}, "config.num_permutations=25"),
    ("inpainting", {"mask_size": 9}, "config.mask_size=9"),
    ("inpainting", {"mask": "patches", "patch_size": 3}, "config.patch_size=3"),
    ("denoising", {"noise_std": -0.1}, "config.noise_std"),
    ("deblurring", {"blur_sigma_min": 2.0, "blur_sigma_max": 1.0}, "config.blur_sigma_max"),
    ("colorization", {"dataset": "digits"}, "config.dataset='digits' is grayscale"),
    ("colorization", {"crop_size": 200}, "config.crop_size=200"),
  ],
)
def test_bad_input_is_one_error_line_before_any_compile(method, overrides, needle, tmp_path, monkeypatch):
  def no_compile(*args, **kwargs):
    raise AssertionError("compiled before the config error")

  monkeypatch.setattr(train, "make_step", no_compile)
  workdir = str(tmp_path / "w")
  with pytest.raises(ConfigError) as info:
    train.train_and_evaluate(tiny_config(method, **overrides), workdir, methods.get(method))
  assert needle in str(info.value) and "\n" not in str(info.value), str(info.value)
  assert not os.path.exists(workdir)
