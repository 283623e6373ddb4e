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
