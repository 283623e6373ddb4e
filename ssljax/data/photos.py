"""The colour photographs that scikit-learn and scikit-image ship: a small offline colour set for colorization.

Each photograph is centre-cropped to a square and resized (bilinear) to SIDE x SIDE; whole photographs are held out
as the test set. There are no class labels: labels are -1 and num_classes is 0, so methods that need labels refuse
this dataset. Needs scikit-image (`pip install 'ssljax[photos]'`). Flips are allowed (photographs of things).
"""

import numpy as np

from ssljax.data.base import ArrayDataset, DataError, from_arrays

SIDE = 128
# scikit-image's bundled colour photographs (skimage.data.NAME()) and scikit-learn's two sample images.
TRAIN = ("astronaut", "coffee", "hubble_deep_field", "immunohistochemistry", "retina", "china.jpg")
TEST = ("chelsea", "rocket", "flower.jpg")


def _photo(name: str) -> np.ndarray:
  if name.endswith(".jpg"):
    from sklearn.datasets import load_sample_image

    return load_sample_image(name)
  try:
    import skimage.data
  except ImportError as e:
    raise DataError(f"the photos dataset needs scikit-image ({e}); `pip install 'ssljax[photos]'`") from None
  return getattr(skimage.data, name)()[..., :3]


def square(image: np.ndarray, side: int) -> np.ndarray:
  """Centre square crop, resized to side x side (bilinear, Pillow)."""
  from PIL import Image

  h, w = image.shape[:2]
  s = min(h, w)
  y, x = (h - s) // 2, (w - s) // 2
  crop = Image.fromarray(np.ascontiguousarray(image[y : y + s, x : x + s]))
  return np.asarray(crop.resize((side, side), Image.BILINEAR))


def load_photos(side: int = SIDE) -> ArrayDataset:
  train = np.stack([square(_photo(n), side) for n in TRAIN])
  test = np.stack([square(_photo(n), side) for n in TEST])
  no_labels = lambda x: np.full(len(x), -1, np.int32)
  return from_arrays("photos", train, no_labels(train), test, no_labels(test), num_classes=0, allow_flip=True)
