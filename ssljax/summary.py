"""Scalar logging: TensorBoard event files (tensorboard's own writer, no TensorFlow needed) + terminal lines."""

import time

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter


class ScalarWriter:
  def __init__(self, logdir: str, enabled: bool = True):
    self._writer = EventFileWriter(logdir) if enabled else None

  def write(self, step: int, scalars: dict):
    if self._writer is None:
      return
    values = [summary_pb2.Summary.Value(tag=k, simple_value=float(v)) for k, v in scalars.items()]
    self._writer.add_event(
      event_pb2.Event(step=int(step), wall_time=time.time(), summary=summary_pb2.Summary(value=values))
    )

  def flush(self):
    if self._writer is not None:
      self._writer.flush()

  def close(self):
    if self._writer is not None:
      self._writer.close()
      self._writer = None


def format_eta(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def read_scalars(logdir: str) -> dict:
  """{tag: (steps, values)} of every scalar in the TensorBoard event files of logdir (all files: resumed runs too)."""
  from tensorboard.backend.event_processing import event_accumulator

  acc = event_accumulator.EventAccumulator(logdir, size_guidance={event_accumulator.SCALARS: 0})
  acc.Reload()
  out = {}
  for tag in acc.Tags().get("scalars", []):
    last = {e.step: e.value for e in acc.Scalars(tag)}  # a resumed run rewrites some steps: keep the last value
    steps = sorted(last)
    out[tag] = (steps, [last[s] for s in steps])
  return out


def plot_curves(logdir: str, path: str, skip=("images_per_sec",)) -> list:
  """Draws every scalar of the run against step (one panel each) into a PNG; returns the tags drawn."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  scalars = {k: v for k, v in sorted(read_scalars(logdir).items()) if k not in skip}
  if not scalars:
    return []
  cols = min(4, len(scalars))
  rows = -(-len(scalars) // cols)
  fig = Figure(figsize=(3.2 * cols, 2.4 * rows), dpi=100)
  FigureCanvasAgg(fig)
  for i, (tag, (steps, values)) in enumerate(scalars.items()):
    ax = fig.add_subplot(rows, cols, i + 1)
    ax.plot(steps, values, marker="o" if len(steps) < 20 else None, markersize=3, linewidth=1.2)
    ax.set_title(tag, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, format="png")
  return list(scalars)
