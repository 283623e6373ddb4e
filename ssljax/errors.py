"""User-facing errors: launch.py prints their message as one line and exits non-zero."""


class UserError(Exception):
  """A problem with the user's input (config, data, workdir): the message names it and how to fix it."""


class ConfigError(UserError, ValueError):
  pass


class WorkdirError(UserError):
  pass


class NonFiniteLossError(UserError):
  pass
