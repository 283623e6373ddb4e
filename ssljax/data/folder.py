"""Your own images from a folder tree, decoded once with Pillow into uint8 arrays.

  PATH/train/<class>/*.png|jpg|jpeg   the labelled pool; class = folder name, classes sorted by name
  PATH/test/<class>/*                 test images; each class must also be in train/
  PATH/unlabelled/*                   optional images with no label; they join the unlabelled pool

Files may sit in subfolders of a class folder (or of unlabelled/). Every image ends up the same mode, RGB if any
is in colour (else grayscale), and the same size: `image_size` (square) if given, else all must already match.
"""

import concurrent.futures
import os

import numpy as np
from PIL import Image

from ssljax.data import images as images_lib
from ssljax.data.base import ArrayDataset, DataError, from_arrays

EXTENSIONS = ('.png', '.jpg', '.jpeg')
KINDS = '/'.join(EXTENSIONS)
PROGRESS_EVERY = 5000  # Images between progress lines on big folders.
LAYOUT = 'expected PATH/train/<class>/*.png|jpg|jpeg, PATH/test/<class>/* and optionally PATH/unlabelled/*'


def _note(message: str):
  print(f'note: {message}', flush=True)


def _files(folder: str) -> tuple[list[str], list[str]]:
  """(image files, other files) under `folder`, recursively, sorted; hidden files and folders are left out."""
  found, other = [], []
  for parent, dirs, names in os.walk(folder):
    dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
    for name in sorted(names):
      if not name.startswith('.'):
        (found if name.lower().endswith(EXTENSIONS) else other).append(os.path.join(parent, name))
  return found, other


def _class_dirs(split_dir: str) -> list[str]:
  return sorted(d for d in os.listdir(split_dir) if not d.startswith('.') and os.path.isdir(os.path.join(split_dir, d)))


def _split_dir(root: str, split: str) -> str:
  path = os.path.join(root, split)
  if not os.path.isdir(path):
    raise DataError(f'folder dataset {root} has no {split}/ folder; {LAYOUT}.')
  return path


def scan(root: str) -> tuple[list[str], dict[str, tuple[list[str], np.ndarray | None]]]:
  """The sorted class names, and each split's image paths with their labels (None for unlabelled)."""
  if not os.path.isdir(root):
    raise DataError(f'folder dataset {root} does not exist; {LAYOUT}.')
  if os.path.isdir(os.path.join(root, 'unlabeled')) and not os.path.isdir(os.path.join(root, 'unlabelled')):
    raise DataError(f'{os.path.join(root, "unlabeled")}: rename it to unlabelled/ (ssljax spells it so).')
  train_dir, test_dir = _split_dir(root, 'train'), _split_dir(root, 'test')
  classes = _class_dirs(train_dir)
  if not classes:
    raise DataError(f'{train_dir} has no class folders; put each class in its own folder, {LAYOUT}.')
  for name in _class_dirs(test_dir):
    if name not in classes:
      raise DataError(
        f'{os.path.join(test_dir, name)} is a test class with no folder in {train_dir}; '
        'add its train images or remove it.'
      )
  splits, ignored = {}, []
  for split, split_dir in (('train', train_dir), ('test', test_dir)):
    paths, labels = [], []
    for label, name in enumerate(classes):
      found, other = _files(os.path.join(split_dir, name))
      if split == 'train' and not found:
        raise DataError(f'{os.path.join(split_dir, name)} holds no {KINDS} images; add some or remove it.')
      paths += found
      labels += [label] * len(found)
      ignored += other
    if not paths:
      raise DataError(f'{split_dir} holds no {KINDS} images in class folders; {LAYOUT}.')
    splits[split] = (paths, np.asarray(labels, np.int32))
  unlabelled_dir = os.path.join(root, 'unlabelled')
  if os.path.isdir(unlabelled_dir):
    found, other = _files(unlabelled_dir)
    ignored += other
    if found:
      splits['unlabelled'] = (found, None)
  if ignored:
    _note(f'{root}: left out {len(ignored)} files that are not {KINDS} images (e.g. {ignored[0]}).')
  return classes, splits


def _header(path: str) -> tuple[str, tuple[int, int]] | Exception:
  """(mode, (height, width)) from the file's header alone, or the error that reading it raised."""
  try:
    with Image.open(path) as image:
      return image.mode, (image.height, image.width)
  except Exception as e:  # Not an image at all, or a header Pillow cannot parse.
    return e


def _decode(path: str, mode: str, size: tuple[int, int]) -> np.ndarray:
  with Image.open(path) as image:
    image.draft(mode, (size[1], size[0]))  # JPEG decodes straight at a smaller scale when it can: much faster.
    return images_lib.to_array(image, mode, size)


class _BadImages:
  """Unreadable files: fail on the first, or skip them all and say once how many."""

  def __init__(self, on_bad_image: str):
    self.skip, self.paths = on_bad_image == 'skip', []

  def add(self, path: str, error: Exception):
    if not self.skip:
      raise DataError(
        f'cannot read image {path} ({type(error).__name__}: {error}); replace or delete it, '
        'or pass --config.on_bad_image=skip to leave unreadable images out.'
      )
    self.paths.append(path)

  def report(self, total: int):
    if self.paths:
      _note(f'skipped {len(self.paths)} unreadable images of {total} (on_bad_image=skip), e.g. {self.paths[0]}.')


def _common_size(path_sizes: list[tuple[str, tuple[int, int]]]) -> tuple[int, int]:
  first_path, first = path_sizes[0]
  for path, size in path_sizes:
    if size != first:
      raise DataError(
        f'images differ in size: {first_path} is {first[1]}x{first[0]} and {path} is {size[1]}x{size[0]} '
        '(width x height); pass --config.image_size=N to resize every image to NxN.'
      )
  return first


def _decode_all(paths, todo: np.ndarray, mode, size, bad: _BadImages, where: str) -> tuple[np.ndarray, np.ndarray]:
  """uint8 [N, H, W, C] of `paths` where `todo` (threads: Pillow decodes without the GIL), and which were read."""
  out = np.zeros((len(paths), *size, 1 if mode == 'L' else 3), np.uint8)
  ok = todo.copy()

  def read(i):
    try:
      out[i] = _decode(paths[i], mode, size)
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError... for broken files.
      return e
    return None

  indices = np.flatnonzero(todo)
  pool = concurrent.futures.ThreadPoolExecutor(images_lib.WORKERS)
  try:
    for done, (i, error) in enumerate(zip(indices, pool.map(read, indices)), 1):
      if error is not None:
        ok[i] = False
        bad.add(paths[i], error)
      if len(indices) > PROGRESS_EVERY and done % PROGRESS_EVERY == 0:
        print(f'{where}: decoded {done}/{len(indices)} images', flush=True)
  finally:
    pool.shutdown(cancel_futures=True)  # A failure stops at once instead of decoding the rest first.
  return out, ok


def load_folder(root: str, image_size: int | None = None, on_bad_image: str = 'fail') -> ArrayDataset:
  """The dataset under folder `root`; allow_flip is False (set it with the allow_flip option)."""
  root = os.path.expanduser(root)
  classes, splits = scan(root)
  paths = [p for split_paths, _ in splits.values() for p in split_paths]
  bad = _BadImages(on_bad_image)
  with concurrent.futures.ThreadPoolExecutor(images_lib.WORKERS) as pool:  # Overlaps file opens on slow disks.
    headers = list(pool.map(_header, paths))
  for i, (path, header) in enumerate(zip(paths, headers)):
    if isinstance(header, Exception):
      bad.add(path, header)
      headers[i] = None
  readable = np.array([h is not None for h in headers])
  modes = [h[0] for h in headers if h]
  if not modes:
    raise DataError(f'no readable images under {root}; {LAYOUT}.')
  mode = images_lib.target_mode(modes)
  gray = sum(m in images_lib.GRAY_MODES for m in modes)
  if mode == 'RGB' and gray:
    _note(f'{root} has {gray} grayscale and {len(modes) - gray} colour images; all are read as RGB.')
  size = (image_size, image_size) if image_size else _common_size([(p, h[1]) for p, h in zip(paths, headers) if h])
  decoded, ok = _decode_all(paths, readable, mode, size, bad, root)
  bad.report(len(paths))
  arrays, start = {}, 0
  for split, (split_paths, labels) in splits.items():
    span = slice(start, start + len(split_paths))
    start += len(split_paths)
    x, y, kept = decoded[span], labels, ok[span]
    if not kept.all():  # Copies only when something was skipped.
      x, y = x[kept], None if labels is None else labels[kept]
    arrays[split] = (x, y)
  for label, name in enumerate(classes):
    if not (arrays['train'][1] == label).any():
      raise DataError(f'{os.path.join(root, "train", name)} has no readable images left; add some or remove it.')
  if not len(arrays['test'][0]):
    raise DataError(f'{os.path.join(root, "test")} has no readable images left; add some.')
  unlabelled = arrays['unlabelled'][0] if 'unlabelled' in arrays and len(arrays['unlabelled'][0]) else None
  return from_arrays(
    f'folder:{root}', *arrays['train'], *arrays['test'], len(classes), allow_flip=False, unlabelled_images=unlabelled
  )
