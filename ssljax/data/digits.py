"""scikit-learn's bundled 8x8 handwritten digits: always offline, as they ship with scikit-learn.

1797 images, values 0..16 mapped to uint8 by round(v * 255 / 16), shape [N, 8, 8, 1].
Fixed split: `train_test_split(test_size=0.2, stratify=y, random_state=0)`, giving
1437 train / 360 test images.
Digits are never flipped (a mirrored 2 or 7 is not a digit).
"""

import numpy as np
from sklearn import datasets, model_selection

from ssljax.data.base import ArrayDataset, from_arrays


def load_digits() -> ArrayDataset:
  bunch = datasets.load_digits()
  images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
  labels = bunch.target.astype(np.int32)
  train_x, test_x, train_y, test_y = model_selection.train_test_split(
    images, labels, test_size=0.2, stratify=labels, random_state=0
  )
  return from_arrays('digits', train_x, train_y, test_x, test_y, num_classes=10, allow_flip=False)
