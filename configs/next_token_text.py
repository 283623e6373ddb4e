r"""Next-token prediction on the standard library's docstrings (causal Transformer, byte-level BPE) against unigram
and Kneser-Ney baselines of the same run, then the module probe; no paper figure for this corpus; ~8 CPU-min.

python launch.py --config configs/next_token_text.py --workdir /tmp/next_token_text
"""

from ssljax import config_base


def get_config():
  config = config_base.text("next_token", total_steps=500, lr=3e-3)
  config.ngram_max_order = 6  # the n-gram baseline: the best Kneser-Ney order up to this
  return config
