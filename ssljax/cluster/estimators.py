"""scikit-learn-compatible estimators over the JAX cores.

Same constructor parameters, fitted attributes and random-state semantics as
scikit-learn: the random draws (k-means++ uniforms, random inits) come from
numpy's RandomState in scikit-learn's order, so the same `random_state` gives
the same initial centres. float64 X is fitted in float64, float32 X in
float32; outputs take X's dtype.

All five pass sklearn.utils.estimator_checks.check_estimator, except one
check that cannot apply to KMeans and MiniBatchKMeans and that scikit-learn
itself lists as an expected failure for its own two:
check_sample_weight_equivalence_on_dense_data (weighting a point by 2 is not
the same as repeating it once the seeding is random: the k-means++ /
random-init draws differ, so the fits differ). The sparse variant is not run
(sparse input is rejected with a TypeError, as the checks expect).
"""

import numbers
import time
import warnings

import numpy as np
from scipy import sparse
from sklearn.base import (
  BaseEstimator,
  ClassifierMixin,
  ClassNamePrefixFeaturesOutMixin,
  ClusterMixin,
  DensityMixin,
  TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_array, check_is_fitted, validate_data

from ssljax.cluster import gmm, kmeans, validation
from ssljax.cluster import label_propagation as lp

_FLOATS = [np.float64, np.float32]


def _check_int(v, name, low=1):
  if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
    raise ValueError(f'{name} must be an integer >= {low}, got {v!r}.')


def _check_float(v, name, low=0.0, low_open=False):
  if isinstance(v, bool) or not isinstance(v, numbers.Real) or v < low or (low_open and v == low):
    raise ValueError(f'{name} must be a number {">" if low_open else ">="} {low}, got {v!r}.')


# ---------------------------------------------------------------------------
# k-means.


class _KMeansBase(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
  _default_n_init = 10

  def _check_common(self, X):
    _check_int(self.n_clusters, 'n_clusters')
    if X.shape[0] < self.n_clusters:
      raise ValueError(f'n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.')
    _check_int(self.max_iter, 'max_iter')
    _check_float(self.tol, 'tol')
    if self.n_init == 'auto':
      array_init = not (isinstance(self.init, str) or callable(self.init))
      self._n_init = 1 if array_init or self.init == 'k-means++' else self._default_n_init
    else:
      _check_int(self.n_init, 'n_init')
      self._n_init = self.n_init
    if isinstance(self.init, str) and self.init not in ('k-means++', 'random'):
      raise ValueError(f"init must be 'k-means++', 'random', a callable or an array, got {self.init!r}.")
    if not (isinstance(self.init, str) or callable(self.init)):
      if self._n_init != 1:
        warnings.warn(
          'Explicit initial center position passed: performing only one init '
          f'in {type(self).__name__} instead of n_init={self._n_init}.',
          RuntimeWarning,
          stacklevel=3,
        )
        self._n_init = 1
      init = check_array(self.init, dtype=X.dtype, copy=True, order='C')
      self._validate_center_shape(X, init)
      return init
    return self.init

  def _validate_center_shape(self, X, centers):
    if centers.shape[0] != self.n_clusters:
      raise ValueError(
        f'The shape of the initial centers {centers.shape} does not match the number of clusters {self.n_clusters}.'
      )
    if centers.shape[1] != X.shape[1]:
      raise ValueError(
        f'The shape of the initial centers {centers.shape} does not match '
        f'the number of features of the data {X.shape[1]}.'
      )

  def _init_centroids(
    self, X, x_squared_norms=None, init=None, random_state=None, sample_weight=None, init_size=None, n_centroids=None
  ):
    """One set of initial centres, drawing from random_state in scikit-learn's order (x_squared_norms unused)."""
    rs = check_random_state(random_state)
    k = self.n_clusters if n_centroids is None else n_centroids
    init = self.init if init is None else init
    sw = np.ones(X.shape[0], X.dtype) if sample_weight is None else np.asarray(sample_weight, X.dtype)
    if init_size is not None and init_size < X.shape[0]:
      idx = rs.randint(0, X.shape[0], init_size)
      X, sw = X[idx], sw[idx]
    if isinstance(init, str) and init == 'k-means++':
      u = rs.random_sample(kmeans.n_uniforms(k))
      return X[kmeans.kmeans_plusplus(X, k, uniforms=u, sample_weight=sw)[1]]
    if isinstance(init, str) and init == 'random':
      return X[rs.choice(X.shape[0], size=k, replace=False, p=sw / sw.sum())]
    if callable(init):
      centers = check_array(init(X, k, random_state=rs), dtype=X.dtype, order='C')
      self._validate_center_shape(X, centers)
      return centers
    return np.asarray(init, X.dtype)

  def _set_result(self, X, res):
    self.cluster_centers_ = res.centers.astype(X.dtype)
    self.labels_ = res.labels.astype(np.int32)
    self.inertia_ = float(res.inertia)
    self.n_iter_ = int(res.n_iter)
    self._n_features_out = self.cluster_centers_.shape[0]
    self._warn_distinct(self.labels_)

  def _warn_distinct(self, labels):
    distinct = int(np.count_nonzero(np.bincount(labels, minlength=self.n_clusters)))
    if distinct < self.n_clusters:
      warnings.warn(
        f'Number of distinct clusters ({distinct}) found smaller than '
        f'n_clusters ({self.n_clusters}). Possibly due to duplicate points '
        'in X.',
        ConvergenceWarning,
        stacklevel=4,
      )

  def predict(self, X):
    """Index of the nearest centre for each row of X."""
    check_is_fitted(self)
    X = validate_data(self, X, dtype=_FLOATS, reset=False)
    return kmeans.predict(X, self.cluster_centers_)[0].astype(np.int32)

  def fit_predict(self, X, y=None, sample_weight=None):
    return self.fit(X, sample_weight=sample_weight).labels_

  def transform(self, X):
    """Euclidean distances from each row to every centre, (N, K)."""
    check_is_fitted(self)
    X = validate_data(self, X, dtype=_FLOATS, reset=False)
    return kmeans.transform(X, self.cluster_centers_).astype(X.dtype)

  def fit_transform(self, X, y=None, sample_weight=None):
    return self.fit(X, sample_weight=sample_weight).transform(X)

  def score(self, X, y=None, sample_weight=None):
    """Opposite of the inertia of X under the fitted centres."""
    check_is_fitted(self)
    X = validate_data(self, X, dtype=_FLOATS, reset=False)
    sw = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    return -kmeans.predict(X, self.cluster_centers_, sample_weight=sw)[1]

  def __sklearn_tags__(self):
    tags = super().__sklearn_tags__()
    tags.transformer_tags.preserves_dtype = ['float64', 'float32']
    return tags


class KMeans(_KMeansBase):
  """k-means (Lloyd) with scikit-learn's interface; see `ssljax.cluster.kmeans`.

  algorithm='elkan' is accepted and runs Lloyd (the same fixed points and iterates).
  """

  def __init__(
    self,
    n_clusters=8,
    *,
    init='k-means++',
    n_init='auto',
    max_iter=300,
    tol=1e-4,
    verbose=0,
    random_state=None,
    copy_x=True,
    algorithm='lloyd',
  ):
    self.n_clusters = n_clusters
    self.init = init
    self.n_init = n_init
    self.max_iter = max_iter
    self.tol = tol
    self.verbose = verbose
    self.random_state = random_state
    self.copy_x = copy_x
    self.algorithm = algorithm

  def fit(self, X, y=None, sample_weight=None):
    X = validate_data(self, X, dtype=_FLOATS, order='C')
    if self.algorithm not in ('lloyd', 'elkan'):
      raise ValueError(f"algorithm must be 'lloyd' or 'elkan', got {self.algorithm!r}.")
    init = self._check_common(X)
    if self.algorithm == 'elkan' and self.n_clusters == 1:
      msg = "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead."
      warnings.warn(msg, RuntimeWarning, stacklevel=2)
    sw = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    rs = check_random_state(self.random_state)
    uniforms = None
    if isinstance(init, str) and init == 'k-means++':  # seeded inside kmeans.fit, on its prepared layout
      uniforms = rs.random_sample((self._n_init, kmeans.n_uniforms(self.n_clusters)))
    else:
      init = np.stack(
        [self._init_centroids(X, init=init, random_state=rs, sample_weight=sw) for _ in range(self._n_init)]
      )
    res = kmeans.fit(
      X,
      self.n_clusters,
      init=init,
      n_init=self._n_init,
      uniforms=uniforms,
      max_iter=self.max_iter,
      tol=self.tol,
      sample_weight=sw,
      verbose=bool(self.verbose),
    )
    self._set_result(X, res)
    return self


class MiniBatchKMeans(_KMeansBase):
  """Mini-batch k-means with scikit-learn's interface and update rule.

  Initial centres: the best of n_init seedings on random subsets of
  init_size points, scored on another random subset. Each step draws
  batch_size rows (with replacement), applies `kmeans.minibatch_step`,
  reassigns centres with tiny weight to random batch points (every 10 K
  samples seen, as scikit-learn), and stops early on the smoothed batch
  inertia (max_no_improvement) or centre motion (tol). The steps run on
  centred, power-of-two-scaled data (exact), which keeps the expanded
  distance accurate far from the origin. `partial_fit` streams batches for
  data that do not fit in memory (centred on the first batch's mean).
  """

  _default_n_init = 3

  def __init__(
    self,
    n_clusters=8,
    *,
    init='k-means++',
    max_iter=100,
    batch_size=1024,
    verbose=0,
    compute_labels=True,
    random_state=None,
    tol=0.0,
    max_no_improvement=10,
    init_size=None,
    n_init='auto',
    reassignment_ratio=0.01,
  ):
    self.n_clusters = n_clusters
    self.init = init
    self.max_iter = max_iter
    self.batch_size = batch_size
    self.verbose = verbose
    self.compute_labels = compute_labels
    self.random_state = random_state
    self.tol = tol
    self.max_no_improvement = max_no_improvement
    self.init_size = init_size
    self.n_init = n_init
    self.reassignment_ratio = reassignment_ratio

  def _check_params(self, X):
    init = self._check_common(X)
    _check_int(self.batch_size, 'batch_size')
    if self.max_no_improvement is not None:
      _check_int(self.max_no_improvement, 'max_no_improvement', low=0)
    _check_float(self.reassignment_ratio, 'reassignment_ratio')
    self._batch_size = min(self.batch_size, X.shape[0])
    self._init_size = self.init_size
    if self._init_size is None:
      self._init_size = 3 * self._batch_size
      if self._init_size < self.n_clusters:
        self._init_size = 3 * self.n_clusters
    elif self._init_size < self.n_clusters:
      warnings.warn(
        f'init_size={self._init_size} should be larger than n_clusters={self.n_clusters}. '
        'Setting it to min(3*n_clusters, n_samples)',
        RuntimeWarning,
        stacklevel=3,
      )
      self._init_size = 3 * self.n_clusters
    self._init_size = min(self._init_size, X.shape[0])
    return init

  def _to_frame(self, X):
    """X in the frame the steps run in: (X - shift) / scale, scale a power of two."""
    shift, scale = self._frame
    xf = ((X - shift) / scale).astype(X.dtype)
    if not np.isfinite(xf).all():
      raise ValueError('X lies too far from the first batch for its dtype; fit on data of similar range.')
    return xf

  def _random_reassign(self):
    self._n_since_last_reassign += self._batch_size
    if (self._counts == 0).any() or self._n_since_last_reassign >= 10 * self.n_clusters:
      self._n_since_last_reassign = 0
      return True
    return False

  def _step(self, xb, wb, rs, reassign):
    """One update in the frame; returns the batch inertia in the frame's units."""
    c, counts, inertia, _ = kmeans.minibatch_step(self._centers, self._counts, xb, wb)
    c, counts = np.array(c), np.array(counts)
    if reassign and self.reassignment_ratio > 0:
      low = counts < self.reassignment_ratio * counts.max()
      if low.sum() > 0.5 * xb.shape[0]:
        low[np.argsort(counts)[int(0.5 * xb.shape[0]) :]] = False
      n_low = int(low.sum())
      if n_low:
        new = rs.choice(xb.shape[0], replace=False, size=n_low)
        if self.verbose:
          print(f'[MiniBatchKMeans] Reassigning {n_low} cluster centers.')
        c[low] = xb[new]
      counts[low] = np.min(counts[~low])
    self._centers, self._counts = c, counts
    return float(inertia)

  def fit(self, X, y=None, sample_weight=None):
    X = validate_data(self, X, dtype=_FLOATS, order='C')
    init = self._check_params(X)
    sw = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    rs = self._rs = check_random_state(self.random_state)
    self._frame = validation.center_scale(X)
    shift, scale = self._frame
    xf = self._to_frame(X)
    if not isinstance(init, str) and not callable(init):
      init = self._to_frame(init)
    n, bs = X.shape[0], self._batch_size
    valid = rs.randint(0, n, self._init_size)
    best, best_inertia = None, None
    for i in range(self._n_init):
      if self.verbose:
        print(f'Init {i + 1}/{self._n_init} with method {self.init}')
      if callable(init):
        c = self._to_frame(
          self._init_centroids(X, init=init, random_state=rs, sample_weight=sw, init_size=self._init_size)
        )
      else:
        c = self._init_centroids(xf, init=init, random_state=rs, sample_weight=sw, init_size=self._init_size)
      inertia = kmeans.predict(xf[valid], c, sample_weight=sw[valid])[1]
      if self.verbose:
        print(f'Inertia for init {i + 1}/{self._n_init}: {inertia * scale**2}')
      if best_inertia is None or inertia < best_inertia:
        best, best_inertia = c, inertia
    self._centers = np.asarray(best, X.dtype)
    self._counts = np.zeros((self.n_clusters,), X.dtype)
    self._n_since_last_reassign = 0
    tol = kmeans.mean_variance(xf) * self.tol if self.tol > 0 else 0.0
    n_steps = (self.max_iter * n) // bs
    ewa, ewa_min, no_improvement = None, None, 0
    step = 0
    for step in range(n_steps):
      idx = rs.randint(0, n, bs)
      old = self._centers
      inertia = self._step(xf[idx], sw[idx], rs, self._random_reassign()) / bs
      shift2 = float(np.sum((self._centers - old) ** 2)) if tol > 0 else 0.0
      if step == 0:
        if self.verbose:
          print(f'Minibatch step {step + 1}/{n_steps}: mean batch inertia: {inertia * scale**2}')
        continue
      alpha = min(bs * 2.0 / (n + 1), 1.0)
      ewa = inertia if ewa is None else ewa * (1 - alpha) + inertia * alpha
      if self.verbose:
        print(
          f'Minibatch step {step + 1}/{n_steps}: mean batch inertia: {inertia * scale**2}, '
          f'ewa inertia: {ewa * scale**2}'
        )
      if tol > 0.0 and shift2 <= tol:
        if self.verbose:
          print(f'Converged (small centers change) at step {step + 1}/{n_steps}')
        break
      if ewa_min is None or ewa < ewa_min:
        no_improvement, ewa_min = 0, ewa
      else:
        no_improvement += 1
      if self.max_no_improvement is not None and no_improvement >= self.max_no_improvement:
        if self.verbose:
          print(f'Converged (lack of improvement in inertia) at step {step + 1}/{n_steps}')
        break
    self.n_steps_ = step + 1
    self.n_iter_ = int(np.ceil(self.n_steps_ * bs / n))
    self._finish(X, sw)
    if not self.compute_labels:
      self.inertia_ = float((ewa if ewa is not None else 0.0) * scale**2 * n)
    return self

  def partial_fit(self, X, y=None, sample_weight=None):
    """One mini-batch step on X (initialising on the first call)."""
    first = not hasattr(self, '_centers')
    X = validate_data(self, X, dtype=_FLOATS, order='C', reset=first)
    sw = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    if first:
      init = self._check_params(X)
      self._rs = check_random_state(self.random_state)
      self._frame = validation.center_scale(X)
      xf = self._to_frame(X)
      init = init if isinstance(init, str) or callable(init) else self._to_frame(init)
      kw = dict(init=init, random_state=self._rs, sample_weight=sw, init_size=self._init_size)
      c = self._to_frame(self._init_centroids(X, **kw)) if callable(init) else self._init_centroids(xf, **kw)
      self._centers = np.asarray(c, X.dtype)
      self._counts = np.zeros((self.n_clusters,), X.dtype)
      self._n_since_last_reassign = 0
      self.n_steps_ = 0
    else:
      xf = self._to_frame(X)
    self._step(xf, sw, self._rs, self._random_reassign())
    self.n_steps_ += 1
    self.n_iter_ = self.n_steps_
    self._finish(X, sw, labels=self.compute_labels)
    return self

  def _finish(self, X, sw, labels=None):
    shift, scale = self._frame
    self.cluster_centers_ = (self._centers.astype(np.float64) * scale + shift).astype(X.dtype)
    self._n_features_out = self.n_clusters
    if self.compute_labels if labels is None else labels:
      lab, inertia = kmeans.predict(self._to_frame(X), self._centers, sample_weight=sw)
      self.labels_, self.inertia_ = lab.astype(np.int32), float(inertia) * scale**2


# ---------------------------------------------------------------------------
# Gaussian mixture.


class GaussianMixture(DensityMixin, BaseEstimator):
  """Gaussian mixture fitted by EM, scikit-learn's interface; see `gmm`.

  `fit(X, labels=...)` runs semi-supervised EM: rows with labels[i] >= 0 keep
  one-hot responsibilities for component labels[i]; -1 marks unlabelled rows.
  """

  def __init__(
    self,
    n_components=1,
    *,
    covariance_type='full',
    tol=1e-3,
    reg_covar=1e-6,
    max_iter=100,
    n_init=1,
    init_params='kmeans',
    weights_init=None,
    means_init=None,
    precisions_init=None,
    random_state=None,
    warm_start=False,
    verbose=0,
    verbose_interval=10,
  ):
    self.n_components = n_components
    self.covariance_type = covariance_type
    self.tol = tol
    self.reg_covar = reg_covar
    self.max_iter = max_iter
    self.n_init = n_init
    self.init_params = init_params
    self.weights_init = weights_init
    self.means_init = means_init
    self.precisions_init = precisions_init
    self.random_state = random_state
    self.warm_start = warm_start
    self.verbose = verbose
    self.verbose_interval = verbose_interval

  def _initial_resp(self, X, rs):
    n, k = X.shape[0], self.n_components
    if self.init_params == 'kmeans':
      lab = KMeans(k, n_init=1, random_state=rs).fit(X).labels_
      return np.eye(k, dtype=X.dtype)[lab]
    if self.init_params == 'random':
      r = rs.uniform(size=(n, k)).astype(X.dtype)
      return r / r.sum(1, keepdims=True)
    if self.init_params == 'random_from_data':
      r = np.zeros((n, k), X.dtype)
      r[rs.choice(n, size=k, replace=False), np.arange(k)] = 1
      return r
    if self.init_params == 'k-means++':
      u = rs.random_sample(kmeans.n_uniforms(k))
      r = np.zeros((n, k), X.dtype)
      r[kmeans.kmeans_plusplus(X, k, uniforms=u)[1], np.arange(k)] = 1
      return r
    raise ValueError(
      f"init_params must be 'kmeans', 'k-means++', 'random' or 'random_from_data', got {self.init_params!r}."
    )

  def fit(self, X, y=None, labels=None):
    self.fit_predict(X, y, labels=labels)
    return self

  def fit_predict(self, X, y=None, labels=None):
    X = validate_data(self, X, dtype=_FLOATS, ensure_min_samples=2)
    _check_int(self.n_components, 'n_components')
    if X.shape[0] < self.n_components:
      raise ValueError(
        f'Expected n_samples >= n_components but got n_components = {self.n_components}, n_samples = {X.shape[0]}'
      )
    _check_int(self.n_init, 'n_init')
    _check_int(self.max_iter, 'max_iter', low=0)
    _check_float(self.tol, 'tol')
    _check_float(self.reg_covar, 'reg_covar')
    if self.covariance_type not in gmm.COVARIANCE_TYPES:
      raise ValueError(f'covariance_type must be one of {gmm.COVARIANCE_TYPES}, got {self.covariance_type!r}.')
    gmm.check_init_params(
      self.n_components, X.shape[1], self.covariance_type, self.weights_init, self.means_init, self.precisions_init
    )
    rs = check_random_state(self.random_state)
    warm = self.warm_start and hasattr(self, 'converged_')
    kw = dict(weights_init=self.weights_init, means_init=self.means_init, precisions_init=self.precisions_init)
    lb0 = -np.inf
    if warm:  # continue from the fitted parameters and bound, as scikit-learn
      resp = [np.zeros((X.shape[0], self.n_components), X.dtype)]  # unused: all three parameters are given
      kw = dict(weights_init=self.weights_, means_init=self.means_, precisions_init=self.precisions_)
      lb0 = self.lower_bound_
    else:
      resp = [self._initial_resp(X, rs) for _ in range(self.n_init)]
    t0 = time.perf_counter()
    res = gmm.fit(
      X,
      self.n_components,
      covariance_type=self.covariance_type,
      tol=self.tol,
      reg_covar=self.reg_covar,
      max_iter=self.max_iter,
      n_init=len(resp),
      resp_init=np.stack(resp),
      lower_bound_init=lb0,
      labels=labels,
      **kw,
    )
    self._print_verbose(res, time.perf_counter() - t0)
    if not res.converged and self.max_iter > 0:
      warnings.warn(
        'Best performing initialization did not converge. Try different init '
        'parameters, or increase max_iter, tol, or check for degenerate data.',
        ConvergenceWarning,
        stacklevel=2,
      )
    self._set_parameters((res.weights, res.means, res.covariances, res.precisions_cholesky), dtype=X.dtype)
    self.converged_ = res.converged
    self.n_iter_ = res.n_iter
    self.lower_bound_ = res.lower_bound
    self.lower_bounds_ = list(res.lower_bounds)
    return self._wlp(X).argmax(axis=1)

  def _set_parameters(self, params, dtype=None):
    """Stores (weights, means, covariances, precisions_cholesky) and the precisions, in `dtype` (default: theirs)."""
    weights, means, cov, pc = (np.asarray(a) for a in params)
    dt = np.dtype(dtype or means.dtype)
    pc64 = pc.astype(np.float64)
    if self.covariance_type == 'full':
      prec = np.einsum('kij,klj->kil', pc64, pc64)
    elif self.covariance_type == 'tied':
      prec = pc64 @ pc64.T
    else:
      prec = pc64**2
    out = dict(weights_=weights, means_=means, covariances_=cov, precisions_cholesky_=pc, precisions_=prec)
    for name, v in out.items():
      with np.errstate(over='ignore'):
        v = v.astype(dt)
      if not np.isfinite(v).all():
        raise ValueError(f'{name} does not fit in {dt} (the data span too many orders of magnitude); pass float64 X.')
      setattr(self, name, v)

  def _initialize(self, X, resp):
    """Parameters from responsibilities (N, K), then weights_init / means_init / precisions_init where given."""
    X, resp = np.asarray(X), np.asarray(resp)
    res = gmm.fit(
      X,
      resp.shape[1],  # as scikit-learn's: the responsibilities say how many components
      covariance_type=self.covariance_type,
      reg_covar=self.reg_covar,
      max_iter=0,
      resp_init=resp.astype(X.dtype),
      weights_init=self.weights_init,
      means_init=self.means_init,
      precisions_init=self.precisions_init,
    )
    self._set_parameters((res.weights, res.means, res.covariances, res.precisions_cholesky), dtype=X.dtype)

  def _print_verbose(self, res, seconds):
    """scikit-learn's verbose lines for the kept initialisation, printed once EM has run (it runs on device)."""
    if not self.verbose:
      return
    print('Initialization 0')
    lbs = [-np.inf] + list(res.lower_bounds)
    per_iter = seconds / max(res.n_iter, 1)
    for i in range(1, len(lbs)):
      if i % self.verbose_interval == 0:
        if self.verbose == 1:
          print(f'  Iteration {i}')
        else:
          print(f'  Iteration {i}\t time lapse {per_iter:.5f}s\t ll change {lbs[i] - lbs[i - 1]:.5f}')
    msg = 'converged' if res.converged else 'did not converge'
    if self.verbose == 1:
      print(f'Initialization {msg}.')
    else:
      print(f'Initialization {msg}. time lapse {seconds:.5f}s\t lower bound {res.lower_bound:.5f}.')

  def _wlp(self, X):
    return gmm.weighted_log_probs(X, self.weights_, self.means_, self.precisions_cholesky_, self.covariance_type)

  def _validate(self, X):
    check_is_fitted(self)
    return validate_data(self, X, dtype=_FLOATS, reset=False)

  def score_samples(self, X):
    """log p(x) per row: low values flag anomalies."""
    X = self._validate(X)
    w = self._wlp(X).astype(np.float64)
    m = w.max(1, keepdims=True)
    return (m[:, 0] + np.log(np.exp(w - m).sum(1))).astype(X.dtype)

  def score(self, X, y=None):
    return float(np.mean(self.score_samples(X)))

  def predict(self, X):
    return self._wlp(self._validate(X)).argmax(axis=1)

  def predict_proba(self, X):
    """Responsibilities p(k | x)."""
    X = self._validate(X)
    w = self._wlp(X).astype(np.float64)
    w = np.exp(w - w.max(1, keepdims=True))
    return (w / w.sum(1, keepdims=True)).astype(X.dtype)

  def _n_parameters(self):
    k, d = self.means_.shape
    return gmm.n_parameters(k, d, self.covariance_type)

  def bic(self, X):
    """-2 log L + p log N (lower is better)."""
    X = self._validate(X)
    return -2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

  def aic(self, X):
    """-2 log L + 2 p (lower is better)."""
    X = self._validate(X)
    return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()

  def sample(self, n_samples=1):
    """Draws (X, component labels) from the fitted mixture."""
    check_is_fitted(self)
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
      raise ValueError(f"Invalid value for 'n_samples': {n_samples} . The sampling requires at least one sample.")
    rng = check_random_state(self.random_state)
    counts = rng.multinomial(n_samples, self.weights_.astype(np.float64) / self.weights_.sum())
    xs = []
    for k, c in enumerate(counts):
      if self.covariance_type == 'full':
        cov = self.covariances_[k]
      elif self.covariance_type == 'tied':
        cov = self.covariances_
      elif self.covariance_type == 'diag':
        cov = np.diag(self.covariances_[k])
      else:
        cov = self.covariances_[k] * np.eye(self.means_.shape[1])
      xs.append(rng.multivariate_normal(self.means_[k], cov, int(c)))
    y = np.concatenate([np.full(c, k) for k, c in enumerate(counts)])
    return np.vstack(xs), y


# ---------------------------------------------------------------------------
# Label propagation / spreading.


class _LabelBase(ClassifierMixin, BaseEstimator):
  _variant = None

  def _graph_kwargs(self):
    return dict(
      kernel=self.kernel if isinstance(self.kernel, str) else 'rbf', gamma=self.gamma, n_neighbors=self.n_neighbors
    )

  def _kernel(self, a, b):
    """A callable kernel's matrix, dense float64 (scipy sparse results are accepted, as scikit-learn does)."""
    w = self.kernel(a, b)
    return np.asarray(w.toarray() if sparse.issparse(w) else w, np.float64)

  def _affinity(self):
    if callable(self.kernel):
      return self._kernel(self.X_, self.X_)
    return lp.affinity_matrix(self.X_, **self._graph_kwargs())

  def _build_graph(self):
    """The dense graph operator G of the iteration F <- G F (scikit-learn's _build_graph)."""
    return lp.graph_matrix(self._affinity(), self._variant)

  def fit(self, X, y):
    """Fits on X with targets y; unlabelled points are marked -1."""
    X, y = validate_data(self, X, y, dtype=_FLOATS)
    check_classification_targets(y)
    if not (callable(self.kernel) or self.kernel in ('rbf', 'knn')):
      raise ValueError(f"kernel must be 'rbf', 'knn' or a callable, got {self.kernel!r}.")
    if self.kernel == 'knn':
      _check_int(self.n_neighbors, 'n_neighbors')
    _check_int(self.max_iter, 'max_iter', low=0)
    _check_float(self.tol, 'tol')
    if self.kernel == 'rbf':
      _check_float(self.gamma, 'gamma')
    if self._variant == 'spreading':
      if isinstance(self.alpha, bool) or not isinstance(self.alpha, numbers.Real) or not (0 < self.alpha < 1):
        raise ValueError(f'alpha must be in the open interval (0, 1), got {self.alpha!r}.')
    self.X_ = X
    classes = np.unique(y)
    classes = classes[classes != -1]
    if classes.size == 0:
      raise ValueError('y has no labelled point (every label is -1).')
    self.classes_ = classes
    idx = np.where(y == -1, -1, np.searchsorted(classes, y)).astype(np.int32)
    affinity = self._kernel(X, X).astype(X.dtype) if callable(self.kernel) else None
    res = lp.fit(
      X,
      idx,
      len(classes),
      variant=self._variant,
      alpha=self.alpha,
      max_iter=self.max_iter,
      tol=self.tol,
      affinity=affinity,
      **self._graph_kwargs(),
    )
    if res.n_iter == self.max_iter:
      warnings.warn(f'max_iter={self.max_iter} was reached without convergence.', ConvergenceWarning, stacklevel=2)
    self.label_distributions_ = res.label_distributions.astype(np.float64)
    self.transduction_ = classes[res.transduction]
    self.n_iter_ = res.n_iter
    return self

  def predict_proba(self, X):
    check_is_fitted(self)
    X = validate_data(self, X, dtype=_FLOATS, reset=False)
    if callable(self.kernel):
      p = self._kernel(self.X_, X).T @ self.label_distributions_
      norm = p.sum(1, keepdims=True)
      return p / np.where(norm == 0, 1.0, norm)
    return lp.predict_proba(self.X_, self.label_distributions_, X, **self._graph_kwargs())

  def predict(self, X):
    check_is_fitted(self)
    return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class LabelPropagation(_LabelBase):
  """Label propagation (hard clamping), scikit-learn's interface."""

  _variant = 'propagation'

  def __init__(self, kernel='rbf', *, gamma=20, n_neighbors=7, max_iter=1000, tol=1e-3, n_jobs=None):
    self.kernel = kernel
    self.gamma = gamma
    self.n_neighbors = n_neighbors
    self.max_iter = max_iter
    self.tol = tol
    self.n_jobs = n_jobs

  @property
  def alpha(self):
    return None


class LabelSpreading(_LabelBase):
  """Label spreading (normalised graph, soft clamping alpha), scikit-learn's interface."""

  _variant = 'spreading'

  def __init__(self, kernel='rbf', *, gamma=20, n_neighbors=7, alpha=0.2, max_iter=30, tol=1e-3, n_jobs=None):
    self.kernel = kernel
    self.gamma = gamma
    self.n_neighbors = n_neighbors
    self.alpha = alpha
    self.max_iter = max_iter
    self.tol = tol
    self.n_jobs = n_jobs
