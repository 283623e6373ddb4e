r"""Masked-token prediction (BERT's 15%, 80/10/10) on the standard library's docstrings, against the unigram
baseline, then the module probe; no paper figure for this corpus; ~8 CPU-min.

python launch.py --config configs/masked_token_text.py --workdir /tmp/masked_token_text
"""

from ssljax import config_base


def get_config():
  config = config_base.text("masked_token", total_steps=500, lr=3e-3)
  config.mask_rate = 0.15
  return config
