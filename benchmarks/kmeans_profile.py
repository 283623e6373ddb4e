r"""Where the float32 Lloyd pass spends its time: the distance dot alone, + the exact argmin, + counts and sums.

python benchmarks/kmeans_profile.py    # 1M x 64 rows, K=256, 1024-row chunks, jax's default device

Each part is a scanned pass over the same chunks (ms per chunk, best of 3) and is set against jax's 4096² float32
matmul measured in the same run; numpy (OpenBLAS) times the same (1024x64)·(64x256) product. Prints one JSON line.
"""

import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ssljax.cluster import _sharding, kmeans  # noqa: E402

HI = lax.Precision.HIGHEST
N, D, K, CHUNK = 1 << 20, 64, 256, 1024


def scanned(body):
  def run(xs, c):
    c2, cn = -2 * c, jnp.sum(c * c, 1)
    return lax.scan(lambda acc, xc: (acc + body(xc, c2, cn), None), jnp.zeros((), jnp.float32), xs)[0]

  return jax.jit(run)


def stats_pass(xs, c):
  ws = jnp.ones(xs.shape[:2], jnp.float32)
  lo = jnp.zeros(xs.shape[:2], jnp.int32)
  mesh = _sharding.data_mesh(jax.devices()[:1])
  spec = jax.P(kmeans.AXIS)
  f = jax.shard_map(
    lambda a, b, l, cc: kmeans._stats_pass(a, b, l, cc)[:2],
    mesh=mesh,
    in_specs=(spec, spec, spec, jax.P()),
    out_specs=jax.P(),
    check_vma=False,
  )
  return f(xs, ws, lo, c)


def best_ms(f, *args, per=1):
  jax.block_until_ready(f(*args))
  times = []
  for _ in range(3):
    t = time.perf_counter()
    jax.block_until_ready(f(*args))
    times.append(time.perf_counter() - t)
  return min(times) / per * 1e3


def main():
  with jax.enable_x64(True):  # argmin0's float32 path packs value and index into an int64
    rng = np.random.RandomState(0)
    x = rng.randn(N, D).astype(np.float32)
    c = x[rng.choice(N, K, replace=False)]
    xs, cj = jnp.asarray(x.reshape(-1, CHUNK, D)), jnp.asarray(c)
    n_chunks = xs.shape[0]
    parts = {
      "dot": scanned(lambda xc, c2, cn: jnp.sum(jnp.dot(c2, xc.T, precision=HI)[:, :1])),
      "dot+argmin": scanned(lambda xc, c2, cn: jnp.sum(kmeans._assign(xc, c2, cn)[1]).astype(jnp.float32)),
      "stats pass": jax.jit(stats_pass),
    }
    ms = {name: best_ms(f, xs, cj, per=n_chunks) for name, f in parts.items()}
    a = jnp.asarray(rng.randn(4096, 4096).astype(np.float32))
    peak = 2 * 4096**3 / (best_ms(jax.jit(lambda a: jnp.dot(a, a, precision=HI)), a) / 1e3) / 1e9
  c2 = -2 * c
  x[:CHUNK] @ c2.T
  t = time.perf_counter()
  for i in range(200):
    x[i * CHUNK : (i + 1) * CHUNK] @ c2.T
  ms["numpy (1024x64)·(64x256)"] = (time.perf_counter() - t) / 200 * 1e3
  flop = 2 * CHUNK * D * K
  out = {
    name: {"ms": round(v, 3), "gflops": round(flop / v / 1e6, 1), "frac_peak": round(flop / v / 1e6 / peak, 3)}
    for name, v in ms.items()
  }
  print(json.dumps({**out, "jax_peak_gflops": round(peak, 1), "load_avg": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
  main()
