"""Text corpora for the text pretext tasks: documents with a label each, a fixed split by document, and tokenizers.

  stdlib_docs   the docstrings (module, class and function) of the running Python's standard library, read with
                `ast` from its .py files (no import); exact duplicates kept once. The label of a docstring is its
                top-level module (`email`, `asyncio`, ...). Licence: the Python Software Foundation License.
  text:PATH     your own UTF-8 `.txt` files: PATH is one file or a folder searched recursively. Each paragraph
                (text between blank lines) is a document, labelled by the file it comes from.

Split: a document goes to train, validation or test by the SHA-256 of its text (80 / 10 / 10), so the split never
depends on the seed, the order of files, or which other documents exist.

Tokenizers (`tokenizer=`): 'bpe', byte-level BPE (GPT-2's pre-tokenizer, any UTF-8 text) trained on the train
split with the `tokenizers` library; 'byte', one token per UTF-8 byte. Both reserve the ids of SPECIALS first.
"""

import dataclasses
import functools
import hashlib
import os
import re
import sysconfig

import numpy as np

from ssljax.data.base import DataError

SPECIALS = ('[PAD]', '[EOS]', '[MASK]', '[CLS]', '[SEP]')
PAD, EOS, MASK, CLS, SEP = range(len(SPECIALS))
TOKENIZERS = ('bpe', 'byte')
# Packages of the standard library that are not documentation of it: its tests, IDLE, demos, bundled wheels.
STDLIB_SKIP = frozenset({'test', 'tests', 'idlelib', 'turtledemo', 'ensurepip', 'pydoc_data', 'lib2to3'})
STDLIB_SKIP_DIRS = frozenset({'site-packages', 'dist-packages', '__pycache__'})
LICENCES = {'stdlib_docs': 'Python Software Foundation License'}


@dataclasses.dataclass(frozen=True)
class TextCorpus:
  """Documents as strings, split by document; labels index label_names."""

  name: str
  source: str
  label_names: tuple[str, ...]
  train: tuple[str, ...]
  train_labels: np.ndarray
  val: tuple[str, ...]
  val_labels: np.ndarray
  test: tuple[str, ...]
  test_labels: np.ndarray

  def split(self, name: str) -> tuple[tuple[str, ...], np.ndarray]:
    return getattr(self, name), getattr(self, f'{name}_labels')


def split_of(text: str) -> str:
  """'train', 'val' or 'test' from the SHA-256 of the document's text (80 / 10 / 10)."""
  bucket = int.from_bytes(hashlib.sha256(text.encode('utf-8')).digest()[:8], 'little') % 100
  return 'train' if bucket < 80 else 'val' if bucket < 90 else 'test'


def from_documents(name: str, source: str, documents) -> TextCorpus:
  """A TextCorpus from (text, label name) pairs: stripped, empty ones dropped, exact duplicates kept once."""
  seen, parts = set(), {'train': [], 'val': [], 'test': []}
  for text, label in documents:
    text = text.strip()
    if text and text not in seen:
      seen.add(text)
      parts[split_of(text)].append((text, label))
  if not parts['train']:
    raise DataError(f'{name}: no text in the training split ({sum(map(len, parts.values()))} documents in all)')
  label_names = tuple(sorted({label for split in parts.values() for _, label in split}))
  index = {label: i for i, label in enumerate(label_names)}
  arrays = {}
  for split, docs in parts.items():
    arrays[split] = tuple(t for t, _ in docs)
    arrays[f'{split}_labels'] = np.asarray([index[label] for _, label in docs], np.int32)
  return TextCorpus(name=name, source=source, label_names=label_names, **arrays)


# ----------------------------------------------------------------------------------------- corpora


def _stdlib_files(root: str):
  for parent, dirs, names in os.walk(root):
    top = os.path.relpath(parent, root).split(os.sep)[0]
    dirs[:] = sorted(d for d in dirs if d not in STDLIB_SKIP_DIRS and not d.startswith('.'))
    if top in STDLIB_SKIP:
      dirs[:] = []
      continue
    for name in sorted(names):
      if name.endswith('.py'):
        yield os.path.join(parent, name), (top if top != '.' else name.removesuffix('.py'))


def stdlib_documents(root: str | None = None):
  """(docstring, top-level module) of every module, class and function under the standard library's folder."""
  import ast

  root = root or sysconfig.get_paths()['stdlib']
  for path, module in _stdlib_files(root):
    if module in STDLIB_SKIP:
      continue
    try:
      with open(path, 'rb') as f:
        tree = ast.parse(f.read())
    except (SyntaxError, ValueError, OSError):  # a broken file of a local install: its docstrings are left out
      continue
    for node in ast.walk(tree):
      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        doc = ast.get_docstring(node)
        if doc:
          yield doc, module


def _text_files(path: str) -> list[str]:
  if os.path.isfile(path):
    return [path]
  if not os.path.isdir(path):
    raise DataError(f'text dataset {path} does not exist; pass text:FILE.txt or text:FOLDER of .txt files.')
  found = []
  for parent, dirs, names in os.walk(path):
    dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
    found += [os.path.join(parent, n) for n in sorted(names) if n.endswith('.txt') and not n.startswith('.')]
  if not found:
    raise DataError(f'text dataset {path} holds no .txt files; put UTF-8 text files (*.txt) in it.')
  return found


def read_text(path: str) -> str:
  """A file's text; DataError naming the file if it is binary or not UTF-8."""
  with open(path, 'rb') as f:
    raw = f.read()
  nul = raw.find(b'\0')
  if nul >= 0:
    raise DataError(f'{path} is not a text file (a NUL byte at offset {nul}: binary data); give UTF-8 .txt files.')
  try:
    return raw.decode('utf-8')
  except UnicodeDecodeError as e:
    raise DataError(
      f'{path} is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); convert it, e.g. '
      f'iconv -f LATIN1 -t UTF-8 {os.path.basename(path)}'
    ) from None


def paragraphs(text: str) -> list[str]:
  return [p.strip() for p in re.split(r'\n\s*\n', text) if p.strip()]


def sentences(text: str) -> list[str]:
  """A document's sentences: its paragraphs, whitespace collapsed, cut after '.', '!' or '?' followed by a space."""
  out = []
  for para in paragraphs(text):
    out += [s for s in re.split(r'(?<=[.!?])\s+', ' '.join(para.split())) if s]
  return out


def folder_documents(path: str):
  """(paragraph, file) of every .txt file under path (the label is the file's path relative to PATH)."""
  files = _text_files(path)
  base = path if os.path.isdir(path) else os.path.dirname(path)
  for file in files:
    label = os.path.relpath(file, base)
    for para in paragraphs(read_text(file)):
      yield para, label


@functools.cache
def load_corpus(name: str) -> TextCorpus:
  """stdlib_docs or text:PATH, read once per process."""
  if name == 'stdlib_docs':
    root = sysconfig.get_paths()['stdlib']
    import platform

    source = f'docstrings of the Python {platform.python_version()} standard library in {root}'
    return from_documents(name, source, stdlib_documents(root))
  if name.startswith('text:'):
    path = os.path.expanduser(name.removeprefix('text:'))
    corpus = from_documents(name, f'UTF-8 text files under {path}', folder_documents(path))
    return corpus
  raise DataError(f'unknown text dataset {name!r}; choose stdlib_docs or text:PATH (a .txt file or a folder of them).')


# ----------------------------------------------------------------------------------------- tokenizers


@dataclasses.dataclass(frozen=True)
class Tokenizer:
  """encode(list of texts) -> list of int32 id arrays; token_bytes[id] is the UTF-8 length of a token (1 for
  [EOS], which stands for the break between documents, 0 for the other specials)."""

  name: str
  vocab_size: int
  token_bytes: np.ndarray
  encode_batch: object  # texts -> list of id lists

  def encode(self, texts) -> list[np.ndarray]:
    return [np.asarray(ids, np.int32) for ids in self.encode_batch(list(texts))]


def byte_tokenizer() -> Tokenizer:
  offset = len(SPECIALS)
  lengths = np.concatenate([[0, 1, 0, 0, 0], np.ones(256)]).astype(np.int32)
  encode = lambda texts: [np.frombuffer(t.encode('utf-8'), np.uint8).astype(np.int32) + offset for t in texts]
  return Tokenizer('byte', offset + 256, lengths, encode)


def bpe_tokenizer(train_texts, vocab_size: int) -> Tokenizer:
  """Byte-level BPE of `vocab_size` tokens trained on `train_texts` (deterministic for the same texts)."""
  try:
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers, trainers
  except ImportError:
    raise DataError(
      "tokenizer='bpe' needs the tokenizers package: pip install 'ssljax[text]' (or tokenizer='byte')"
    ) from None

  tok = HFTokenizer(models.BPE())
  tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  tok.decoder = decoders.ByteLevel()
  trainer = trainers.BpeTrainer(
    vocab_size=vocab_size,
    special_tokens=list(SPECIALS),
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False,
  )
  tok.train_from_iterator(list(train_texts), trainer=trainer)
  size = tok.get_vocab_size()
  lengths = np.zeros(size, np.int32)
  for i in range(len(SPECIALS), size):
    lengths[i] = len(tok.id_to_token(i))  # the byte-level alphabet spells every byte as one character
  lengths[EOS] = 1
  encode = lambda texts: [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
  return Tokenizer('bpe', size, lengths, encode)


@functools.cache
def tokenizer_for(name: str, kind: str, vocab_size: int) -> Tokenizer:
  if kind == 'byte':
    return byte_tokenizer()
  return bpe_tokenizer(load_corpus(name).train, vocab_size)


def stream(docs: list[np.ndarray]) -> np.ndarray:
  """[EOS] doc [EOS] doc ... [EOS] as one int32 array."""
  parts = [np.asarray([EOS], np.int32)]
  for d in docs:
    parts += [d, np.asarray([EOS], np.int32)]
  return np.concatenate(parts)
