"""Tests for folder:PATH datasets, on tiny images written to tmp_path."""

import os
import warnings

import numpy as np
import pytest
from PIL import Image

from ssljax import data
from ssljax.data import folder


def write_image(path, size=(8, 6), mode='RGB', value=0):
  """A size=(width, height) image whose pixels all equal `value`."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.new(mode, size, value if mode in ('L', 'I;16') else (value,) * len(mode)).save(path)
  return str(path)


def make_tree(root, layout, **kwargs):
  """layout: {'train/cat': 3, ...} -> that many PNGs per folder, valued 10 * index of the folder + image number."""
  for k, (sub, n) in enumerate(layout.items()):
    for i in range(n):
      write_image(os.path.join(root, sub, f'{i}.png'), value=10 * k + i, **kwargs)
  return str(root)


BASIC = {'train/dog': 2, 'train/cat': 3, 'test/cat': 1, 'test/dog': 2, 'unlabelled': 4}


def test_folder(tmp_path):
  root = make_tree(tmp_path / 'pets', BASIC)
  ds = data.load(f'folder:{root}')
  assert ds.name == f'folder:{root}' and ds.num_classes == 2 and not ds.allow_flip
  assert ds.train_images.shape == (5, 6, 8, 3) and ds.train_images.dtype == np.uint8
  assert ds.test_images.shape == (3, 6, 8, 3) and ds.unlabelled_images.shape == (4, 6, 8, 3)
  # Classes sorted by name (cat = 0, dog = 1), files sorted within a class; PNG keeps the pixels exactly.
  np.testing.assert_array_equal(ds.train_labels, [0, 0, 0, 1, 1])
  np.testing.assert_array_equal(ds.train_images[:, 0, 0, 0], [10, 11, 12, 0, 1])
  np.testing.assert_array_equal(ds.test_labels, [0, 1, 1])
  np.testing.assert_array_equal(ds.unlabelled_images[:, 0, 0, 0], [40, 41, 42, 43])
  assert ds.train_labels.dtype == np.int32 and len(ds.mean) == 3
  np.testing.assert_allclose(ds.mean, [(ds.train_images / 255.0).mean()] * 3, rtol=1e-6)


def test_folder_without_unlabelled_jpeg_and_subfolders(tmp_path):
  root = tmp_path / 'set'
  write_image(root / 'train/a/x.JPG', value=200)
  write_image(root / 'train/a/more/y.jpeg', value=200)
  write_image(root / 'train/b/z.png')
  write_image(root / 'test/b/w.png')
  ds = data.load(f'folder:{root}')
  assert ds.unlabelled_images is None and len(ds.train_images) == 3 and len(ds.test_images) == 1
  np.testing.assert_array_equal(ds.train_labels, [0, 0, 1])
  assert abs(int(ds.train_images[0].mean()) - 200) <= 2  # JPEG is lossy, but not by much on a flat image.


def test_folder_grayscale_stays_one_channel(tmp_path):
  ds = data.load(f'folder:{make_tree(tmp_path / "g", BASIC, mode="L")}')
  assert ds.train_images.shape == (5, 6, 8, 1) and len(ds.mean) == 1


def test_folder_16_bit_grayscale_is_scaled(tmp_path):
  root = tmp_path / 'deep'
  write_image(root / 'train/a/x.png', mode='I;16', value=0x8000)
  write_image(root / 'test/a/y.png', mode='I;16', value=0xFFFF)
  ds = data.load(f'folder:{root}')
  assert ds.train_images.shape[-1] == 1 and ds.train_images.max() == 0x80 and ds.test_images.max() == 0xFF


def test_folder_mixed_modes_become_rgb(tmp_path, capsys):
  root = make_tree(tmp_path / 'mixed', {'train/a': 2, 'test/a': 1}, mode='L')
  write_image(os.path.join(root, 'train/a/colour.png'), mode='RGBA', value=7)
  palette = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8) % 4, 'P')
  palette.putpalette([0, 0, 0, 50, 50, 50, 100, 0, 0, 0, 200, 0])
  os.makedirs(os.path.join(root, 'unlabelled'))
  palette.save(os.path.join(root, 'unlabelled/p.png'), transparency=b'\x00\x80\xff\xff')  # Alpha per entry.
  with warnings.catch_warnings():
    warnings.simplefilter('error')  # Not one warning per palette image.
    ds = data.load(f'folder:{root}')
  assert ds.train_images.shape[-1] == 3 and ds.unlabelled_images.shape[-1] == 3
  np.testing.assert_array_equal(ds.train_images[0, 0, 0], [0, 0, 0])  # Gray 0 is RGB (0, 0, 0).
  out = capsys.readouterr().out
  assert out.count('note:') == 1 and '3 grayscale and 2 colour images' in out and 'RGB' in out


def test_folder_sizes(tmp_path):
  root = make_tree(tmp_path / 's', BASIC)
  odd = write_image(os.path.join(root, 'test/dog/big.png'), size=(20, 10))
  with pytest.raises(data.DataError, match='image_size') as e:
    data.load(f'folder:{root}')
  assert odd in str(e.value) and '20x10' in str(e.value) and '8x6' in str(e.value) and '\n' not in str(e.value)
  ds = data.load(f'folder:{root}', image_size=4)
  assert ds.train_images.shape == (5, 4, 4, 3) and ds.test_images.shape == (4, 4, 4, 3)
  assert ds.unlabelled_images.shape == (4, 4, 4, 3)
  np.testing.assert_array_equal(ds.train_images[:, 0, 0, 0], [10, 11, 12, 0, 1])  # A flat image stays flat.


def test_folder_big_jpeg_is_drafted_and_resized(tmp_path):
  root = tmp_path / 'photos'
  write_image(root / 'train/a/x.jpg', size=(640, 480), value=128)
  write_image(root / 'test/a/y.jpg', size=(300, 500), value=128)
  ds = data.load(f'folder:{root}', image_size=16)
  assert ds.train_images.shape == (1, 16, 16, 3) and abs(int(ds.test_images.mean()) - 128) <= 2


def test_folder_flip_option(tmp_path):
  root = make_tree(tmp_path / 'f', BASIC)
  assert data.load(f'folder:{root}', allow_flip=True).allow_flip
  assert not data.load(f'folder:{root}', allow_flip=False).allow_flip


def test_folder_progress(tmp_path, monkeypatch, capsys):
  monkeypatch.setattr(folder, 'PROGRESS_EVERY', 4)
  data.load(f'folder:{make_tree(tmp_path / "p", BASIC)}')
  assert capsys.readouterr().out.splitlines() == [f'{tmp_path / "p"}: decoded {n}/12 images' for n in (4, 8, 12)]


def test_folder_other_files_are_left_out_with_a_note(tmp_path, capsys):
  root = make_tree(tmp_path / 'o', BASIC)
  (tmp_path / 'o/train/cat/notes.txt').write_text('hello')
  (tmp_path / 'o/train/cat/.DS_Store').write_text('')  # Hidden files are not even mentioned.
  assert len(data.load(f'folder:{root}').train_images) == 5
  out = capsys.readouterr().out
  assert out.count('note:') == 1 and '1 files' in out and 'notes.txt' in out


def layout_error(tmp_path, case):
  root = tmp_path / 'bad'
  if case == 'no_root':
    return str(root), 'does not exist'
  make_tree(root, BASIC)
  if case == 'no_train':
    os.rename(root / 'train', root / 'training')
    return str(root), 'no train/ folder'
  if case == 'no_test':
    os.rename(root / 'test', root / 'val')
    return str(root), 'no test/ folder'
  if case == 'test_class_not_in_train':
    write_image(root / 'test/bird/0.png')
    return str(root / 'test/bird'), 'no folder in'
  if case == 'empty_class':
    os.makedirs(root / 'train/emu')
    return str(root / 'train/emu'), 'holds no'
  if case == 'no_class_folders':
    for name in os.listdir(root / 'train'):
      os.rename(root / 'train' / name, root / name)
    write_image(root / 'train/loose.png')
    return str(root / 'train'), 'no class folders'
  if case == 'no_test_images':
    for name in ('cat', 'dog'):
      for f in os.listdir(root / 'test' / name):
        os.remove(root / 'test' / name / f)
    return str(root / 'test'), 'holds no'
  if case == 'unlabeled_spelling':
    os.rename(root / 'unlabelled', root / 'unlabeled')
    return str(root / 'unlabeled'), 'rename it to unlabelled'
  raise ValueError(case)


@pytest.mark.parametrize(
  'case',
  [
    'no_root',
    'no_train',
    'no_test',
    'test_class_not_in_train',
    'empty_class',
    'no_class_folders',
    'no_test_images',
    'unlabeled_spelling',
  ],
)
def test_folder_layout_errors(tmp_path, case):
  where, match = layout_error(tmp_path, case)
  with pytest.raises(data.DataError, match=match) as e:
    data.load(f'folder:{tmp_path / "bad"}')
  assert where in str(e.value) and '\n' not in str(e.value)


def add_bad_images(root):
  """A file that is no image at all, and a PNG cut short (its header reads, its pixels do not)."""
  garbage = os.path.join(root, 'train/cat/garbage.png')
  with open(garbage, 'wb') as f:
    f.write(b'not an image')
  cut = write_image(os.path.join(root, 'unlabelled/cut.png'), size=(64, 48))
  with open(cut, 'rb') as f:
    raw = f.read()
  with open(cut, 'wb') as f:
    f.write(raw[: len(raw) // 2])
  return garbage, cut


@pytest.mark.parametrize('which', [0, 1])
def test_folder_bad_image_fails_naming_it(tmp_path, which):
  root = make_tree(tmp_path / 'b', BASIC, size=(64, 48))
  bad = add_bad_images(root)
  if which == 1:
    os.remove(bad[0])
  with pytest.raises(data.DataError, match='on_bad_image=skip') as e:
    data.load(f'folder:{root}')
  assert bad[which] in str(e.value) and '\n' not in str(e.value)


def test_folder_bad_images_skipped(tmp_path, capsys):
  root = make_tree(tmp_path / 'b', BASIC, size=(64, 48))
  add_bad_images(root)
  ds = data.load(f'folder:{root}', on_bad_image='skip')
  assert len(ds.train_images) == 5 and len(ds.unlabelled_images) == 4 and len(ds.test_images) == 3
  np.testing.assert_array_equal(ds.train_labels, [0, 0, 0, 1, 1])
  np.testing.assert_array_equal(ds.unlabelled_images[:, 0, 0, 0], [40, 41, 42, 43])
  out = capsys.readouterr().out
  assert out.count('note:') == 1 and 'skipped 2 unreadable images of 14' in out


def test_folder_skipping_every_image_of_a_class(tmp_path):
  root = make_tree(tmp_path / 'b', {'train/a': 1, 'test/a': 1})
  os.makedirs(os.path.join(root, 'train/b'))
  open(os.path.join(root, 'train/b/empty.png'), 'wb').close()
  with pytest.raises(data.DataError, match='no readable images left') as e:
    data.load(f'folder:{root}', on_bad_image='skip')
  assert os.path.join(root, 'train', 'b') in str(e.value)
