r"""Clustering benchmarks against scikit-learn in the same run.

  python benchmarks/cluster.py            # full sizes (several minutes on 2 cores)
  python benchmarks/cluster.py --quick    # small sizes, a smoke test
  python benchmarks/cluster.py --skip-sklearn   # e.g. on a GPU machine
  python benchmarks/cluster.py --cpu-devices 2  # ssljax on one virtual CPU device per core
  python benchmarks/cluster.py --dtype float64  # both sides fit float64 data (ssljax then computes in float64)

`--cpu-devices N` splits the host CPU into N jax devices (`jax_num_cpu_devices`),
so the row-sharded kernels run one shard per core, each device's single-threaded
steps (argmin, scatter) overlapping the other's; scikit-learn is unaffected.

Prints one JSON line per case. scikit-learn runs in a subprocess with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (scikit-learn at its best), on the
same data and initialisation, in --dtype, timing whole fit() calls. The matmul
peak is the larger of numpy's (same subprocess environment) and jax's
4096 x 4096 matmul GFLOP/s in --dtype, measured in this run. Peak RSS of the
4M x 32, K=1024 k-means runs in fresh processes (resource.getrusage).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = {
  'full': dict(kmeans=(1_000_000, 64, 256), gmm=(100_000, 32, 16), spread=(20_000, 16), rss=(4_000_000, 32, 1024)),
  'quick': dict(kmeans=(20_000, 16, 32), gmm=(5_000, 8, 4), spread=(2_000, 8), rss=(200_000, 32, 64)),
}
ITERS = 20


# ---------------------------------------------------------------------------
# Data (deterministic, identical for both sides).


def kmeans_data(n, d, k, seed=0):
  rng = np.random.RandomState(seed)
  x = rng.randn(n, d).astype(np.float32)
  return x, x[rng.choice(n, k, replace=False)].copy()


def gmm_data(n, d, k, seed=0):
  rng = np.random.RandomState(seed)
  centres = 3 * rng.randn(k, d)
  lab = rng.randint(0, k, n)
  x = (centres[lab] + rng.randn(n, d) * rng.uniform(0.5, 1.5, (k, 1))[lab]).astype(np.float32)
  means = x[rng.choice(n, k, replace=False)].astype(np.float32)
  return x, means


def gmm_init(x, means, cov, iters=ITERS):
  """Same starting parameters on both sides: given weights, means, precisions."""
  k, d = means.shape
  var = x.var(0).astype(np.float64)
  weights = np.full(k, 1.0 / k)
  prec = {'full': np.stack([np.diag(1 / var)] * k), 'diag': np.tile(1 / var, (k, 1))}[cov]
  return dict(
    weights_init=weights,
    means_init=means,
    precisions_init=prec,
    init_params='random_from_data',
    max_iter=iters,
    tol=0.0,
    covariance_type=cov,
  )


def spread_data(n, d, seed=0):
  from sklearn.datasets import make_blobs

  x, y = make_blobs(n, d, centers=10, cluster_std=2.5, random_state=seed)
  y = y.copy()
  y[np.random.RandomState(seed).rand(n) > 0.02] = -1
  return x.astype(np.float32), y


# ---------------------------------------------------------------------------
# Fits (the same calls on both sides; `lib` is sklearn or ssljax.cluster).


def fit_case(lib, case, sizes, iters=ITERS, dtype='float32'):
  if case == 'kmeans':
    x, init = (a.astype(dtype) for a in kmeans_data(*sizes['kmeans']))
    est = lib.KMeans(init.shape[0], init=init, n_init=1, max_iter=iters, tol=0.0, algorithm='lloyd')
    t = _timed(lambda: est.fit(x))
    return t, dict(inertia=float(est.inertia_), n_iter=int(est.n_iter_)), est.labels_
  if case.startswith('gmm_'):
    x, means = (a.astype(dtype) for a in gmm_data(*sizes['gmm']))
    est = lib.GaussianMixture(means.shape[0], random_state=0, **gmm_init(x, means, case[4:], iters))
    t = _timed(lambda: est.fit(x))
    return t, dict(lower_bound=float(est.lower_bound_), n_iter=int(est.n_iter_)), None
  if case == 'spread':
    x, y = spread_data(*sizes['spread'])
    x = x.astype(dtype)
    est = lib.LabelSpreading(kernel='knn', n_neighbors=7)
    t = _timed(lambda: est.fit(x, y))
    return t, dict(n_iter=int(est.n_iter_)), est.transduction_
  raise ValueError(case)


def _timed(f):
  t = time.perf_counter()
  f()
  return time.perf_counter() - t


def numpy_peak(dtype='float32'):
  a = np.random.RandomState(0).randn(4096, 4096).astype(dtype)
  a @ a
  best = min(_timed(lambda: a @ a) for _ in range(3))
  return 2 * 4096**3 / best / 1e9


def jax_peak(dtype='float32'):
  import jax
  import jax.numpy as jnp

  with jax.enable_x64(True):
    a = jnp.asarray(np.random.RandomState(0).randn(4096, 4096).astype(dtype))
    f = jax.jit(lambda a: jnp.dot(a, a, precision=jax.lax.Precision.HIGHEST))
    f(a).block_until_ready()
    best = min(_timed(lambda: f(a).block_until_ready()) for _ in range(3))
  return 2 * 4096**3 / best / 1e9


# ---------------------------------------------------------------------------
# Subprocess workers.


def sk_worker(args):
  """Runs in the scikit-learn subprocess: times fits, writes labels to files."""
  import warnings

  import sklearn.cluster
  import sklearn.mixture
  import sklearn.semi_supervised

  class Lib:
    KMeans = sklearn.cluster.KMeans
    GaussianMixture = sklearn.mixture.GaussianMixture
    LabelSpreading = sklearn.semi_supervised.LabelSpreading

  warnings.simplefilter('ignore')
  sizes = SIZES[args.mode]
  out = dict(numpy_peak=numpy_peak(args.dtype))
  for case in args.cases:
    times, info, labels = [], None, None
    for _ in range(args.repeats):
      t, info, labels = fit_case(Lib, case, sizes, dtype=args.dtype)
      times.append(t)
    if labels is not None:
      np.save(os.path.join(args.tmp, f'{case}_sk.npy'), labels)
    out[case] = dict(time=min(times), **info)
  print(json.dumps(out))


def rss_worker(args):
  """Fresh process: peak RSS of a 4M x 32, K = 1024 k-means fit."""
  n, d, k = SIZES[args.mode]['rss']
  x, init = kmeans_data(n, d, k)
  if args.rss_worker == 'sklearn':
    from sklearn.cluster import KMeans
  else:
    _set_cpu_devices(args.cpu_devices)
    sys.path.insert(0, ROOT)
    from ssljax.cluster import KMeans
  t = _timed(lambda: KMeans(k, init=init, n_init=1, max_iter=2, tol=0.0).fit(x))
  # ru_maxrss survives execve on Linux (it may report the parent's peak), so
  # the main process runs these workers first, while it is still small; VmHWM
  # is this process's own high-water mark.
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
  with open('/proc/self/status') as f:
    hwm = [int(l.split()[1]) for l in f if l.startswith('VmHWM')][0] / 2**20
  print(
    json.dumps(
      dict(peak_rss_gib=round(peak, 3), vm_hwm_gib=round(hwm, 3), data_gib=round(x.nbytes / 2**30, 3), time=round(t, 2))
    )
  )


def _set_cpu_devices(n):
  if n:  # before jax starts its CPU backend; also sizes XLA's thread pool for the devices
    import ssljax

    ssljax.set_cpu_devices(n)


def _run(cmd, env=None):
  r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
  if r.returncode:
    raise RuntimeError(f'{cmd} failed:\n{r.stderr[-3000:]}')
  return json.loads(r.stdout.strip().splitlines()[-1])


def sklearn_env():
  env = dict(os.environ)
  env.pop('OPENBLAS_CORETYPE', None)
  env.pop('OPENBLAS_L2_SIZE', None)
  env.pop('XLA_FLAGS', None)
  return env


def cpu_name():
  try:
    out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
    flags = [l for l in out.splitlines() if l.startswith('Flags')]
    name = [l.split(':', 1)[1].strip() for l in out.splitlines() if l.startswith('Model name')]
    return f"{name[0] if name else '?'}{' avx512' if flags and 'avx512f' in flags[0] else ''}"
  except OSError:
    return '?'


# ---------------------------------------------------------------------------
# Main.


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--quick', action='store_true')
  p.add_argument('--skip-sklearn', action='store_true')
  p.add_argument('--cases', default='kmeans,gmm_full,gmm_diag,spread,rss')
  p.add_argument('--repeats', type=int, default=2)
  p.add_argument('--dtype', default='float32', choices=['float32', 'float64'], help='dtype of the data, both sides')
  p.add_argument(
    '--cpu-devices',
    type=int,
    default=None,
    help='jax CPU devices for ssljax (default: jax\'s own, 1 on a plain CPU host)',
  )
  p.add_argument('--sk-worker', action='store_true', help=argparse.SUPPRESS)
  p.add_argument('--rss-worker', choices=['jax', 'sklearn'], help=argparse.SUPPRESS)
  p.add_argument('--mode', default=None, help=argparse.SUPPRESS)
  p.add_argument('--tmp', default=None, help=argparse.SUPPRESS)
  args = p.parse_args()
  args.mode = args.mode or ('quick' if args.quick else 'full')
  args.cases = [c for c in args.cases.split(',') if c]
  if args.sk_worker:
    return sk_worker(args)
  if args.rss_worker:
    return rss_worker(args)

  sizes = SIZES[args.mode]
  rss = None
  if 'rss' in args.cases:  # first, while this process is small (see rss_worker)
    rss = dict(case='rss', shape=list(sizes['rss']))
    rss['jax'] = _run(
      [sys.executable, __file__, '--rss-worker', 'jax', '--mode', args.mode]
      + (['--cpu-devices', str(args.cpu_devices)] if args.cpu_devices else [])
    )
    if not args.skip_sklearn:
      rss['sklearn'] = _run(
        [sys.executable, __file__, '--rss-worker', 'sklearn', '--mode', args.mode], env=sklearn_env()
      )

  import warnings

  warnings.simplefilter('ignore')  # ConvergenceWarning: tol=0 runs never "converge"
  _set_cpu_devices(args.cpu_devices)
  sys.path.insert(0, ROOT)
  import jax

  from ssljax import cluster

  fit_cases = [c for c in args.cases if c != 'rss']
  tmp = tempfile.mkdtemp()

  # Interleaved: for each case and repeat, the scikit-learn subprocess (which
  # also measures numpy's matmul peak) then jax's peak and fit, so that both
  # sides and the peak see the same machine load (other jobs share the CPU).
  for case in fit_cases:
    # Warm-up with the timed call itself: GaussianMixture's lower-bound history length is static (a power of two
    # of max_iter), so a 1-iteration warm-up would leave the timed fit to compile.
    fit_case(cluster, case, sizes, dtype=args.dtype)
    jt, st, peaks, npeaks, info, labels, ref = [], [], [], [], None, None, None
    for _ in range(args.repeats):
      if not args.skip_sklearn:
        ref = _run(
          [
            sys.executable,
            __file__,
            '--sk-worker',
            '--mode',
            args.mode,
            '--tmp',
            tmp,
            '--repeats',
            '1',
            '--cases',
            case,
            '--dtype',
            args.dtype,
          ],
          env=sklearn_env(),
        )
        npeaks.append(ref['numpy_peak'])
        ref = ref[case]
        st.append(ref['time'])
      peaks.append(jax_peak(args.dtype))
      t, info, labels = fit_case(cluster, case, sizes, dtype=args.dtype)
      jt.append(t)
    jpeak, npeak = max(peaks), max(npeaks) if npeaks else None
    peak = max(jpeak, npeak or 0.0)
    row = dict(
      case=case,
      dtype=args.dtype,
      jax_s=round(min(jt), 3),
      jax_all_s=[round(t, 2) for t in jt],
      **{f'jax_{k}': v for k, v in info.items()},
    )
    if ref:
      row.update(
        sklearn_s=round(min(st), 3),
        sklearn_all_s=[round(t, 2) for t in st],
        speedup=round(min(st) / min(jt), 3),
        **{f'sklearn_{k}': v for k, v in ref.items() if k != 'time'},
      )
    if case == 'kmeans':
      n, d, k = sizes['kmeans']
      gflops = ITERS * 2 * n * k * d / min(jt) / 1e9
      row.update(shape=[n, d, k], gflops=round(gflops, 1), frac_peak=round(gflops / peak, 3))
      if ref:
        row['inertia_rel_diff'] = abs(info['inertia'] - ref['inertia']) / ref['inertia']
        row['label_agreement'] = float(np.mean(labels == np.load(f'{tmp}/kmeans_sk.npy')))
    elif case.startswith('gmm_'):
      row['shape'] = list(sizes['gmm'])
      if ref:
        row['lower_bound_rel_diff'] = abs(info['lower_bound'] - ref['lower_bound']) / abs(ref['lower_bound'])
    elif case == 'spread':
      row['shape'] = list(sizes['spread'])
      if ref:
        row['transduction_agreement'] = float(np.mean(labels == np.load(f'{tmp}/spread_sk.npy')))
    common = dict(
      mode=args.mode,
      cpu=cpu_name(),
      device=str(jax.devices()[0].device_kind),
      n_devices=len(jax.devices()),
      peak_gflops=round(peak, 1),
      jax_matmul_gflops=round(jpeak, 1),
      numpy_matmul_gflops=None if npeak is None else round(npeak, 1),
      peak_all_gflops=[round(max(a, b), 1) for a, b in zip(peaks, npeaks or peaks)],
      load_avg=round(os.getloadavg()[0], 2),
    )
    print(json.dumps({**row, **common}), flush=True)

  if rss:
    print(
      json.dumps({**rss, 'mode': args.mode, 'cpu': cpu_name(), 'load_avg': round(os.getloadavg()[0], 2)}), flush=True
    )


if __name__ == '__main__':
  main()
