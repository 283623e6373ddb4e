r"""Next-sentence prediction (BERT's 50/50 consecutive vs random pairs) on the standard library's docstrings, then
the module probe; no paper figure for this corpus; ~8 CPU-min.

python launch.py --config configs/next_sentence_text.py --workdir /tmp/next_sentence_text
"""

from ssljax import config_base


def get_config():
  config = config_base.text("next_sentence", total_steps=500, lr=1e-3)
  config.mask_rate = 0.15
  config.mlm_weight = 0.0  # BERT trains NSP jointly with masked tokens: 1.0
  return config
