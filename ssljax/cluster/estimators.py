"""scikit-learn-compatible estimators over the JAX cores.

Same constructor parameters, fitted attributes and random-state semantics as
scikit-learn: the random draws (k-means++ uniforms, random inits) come from
numpy's RandomState in scikit-learn's order, so the same `random_state` gives
the same initial centres. Computation is float32; outputs take X's dtype.

All five pass sklearn.utils.estimator_checks.check_estimator, except one
check that cannot apply to KMeans and MiniBatchKMeans and that scikit-learn
itself lists as an expected failure for its own two:
check_sample_weight_equivalence_on_dense_data (weighting a point by 2 is not
the same as repeating it once the seeding is random: the k-means++ /
random-init draws differ, so the fits differ). The sparse variant is not run
(sparse input is rejected with a TypeError, as the checks expect).
"""

import numbers
import warnings

import numpy as np
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
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ssljax.cluster import gmm, kmeans
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
  def _check_common(self, X):
    _check_int(self.n_clusters, 'n_clusters')
    if X.shape[0] < self.n_clusters:
      raise ValueError(f'n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.')
    _check_int(self.max_iter, 'max_iter')
    _check_float(self.tol, 'tol')

  def _n_init(self, default):
    if self.n_init == 'auto':
      return (
        1
        if (isinstance(self.init, str) and self.init == 'k-means++')
        or not (isinstance(self.init, str) or callable(self.init))
        else default
      )
    _check_int(self.n_init, 'n_init')
    return self.n_init

  def _initial_centers(self, X, sw, rs, n_init):
    """(n_init, K, D) initial centres, or ('k-means++', uniforms)."""
    k, init = self.n_clusters, self.init
    if isinstance(init, str):
      if init == 'k-means++':
        return 'k-means++', rs.random_sample((n_init, kmeans.n_uniforms(k)))
      if init == 'random':
        p = sw / sw.sum()
        return np.stack([X[rs.choice(X.shape[0], size=k, replace=False, p=p)] for _ in range(n_init)]), None
      raise ValueError(f"init must be 'k-means++', 'random', a callable or an array, got {init!r}.")
    if callable(init):
      return np.stack([np.asarray(init(X, k, random_state=rs), X.dtype) for _ in range(n_init)]), None
    c = np.asarray(init, dtype=X.dtype)
    if c.shape != (k, X.shape[1]):
      raise ValueError(
        f'The shape of the initial centers {c.shape} does not match '
        f'the number of clusters {k} and features {X.shape[1]}.'
      )
    return c[None], None

  def _set_result(self, X, res):
    self.cluster_centers_ = res.centers.astype(X.dtype)
    self.labels_ = res.labels.astype(np.int32)
    self.inertia_ = float(res.inertia)
    self.n_iter_ = int(res.n_iter)
    self._n_features_out = self.cluster_centers_.shape[0]
    distinct = int(np.count_nonzero(np.bincount(self.labels_, minlength=self.n_clusters)))
    if distinct < self.n_clusters:
      warnings.warn(
        f'Number of distinct clusters ({distinct}) found smaller than '
        f'n_clusters ({self.n_clusters}). Possibly due to duplicate points '
        'in X.',
        ConvergenceWarning,
        stacklevel=3,
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

  algorithm='elkan' is accepted and runs Lloyd (same fixed points; Elkan's
  bounds do not pay on unstructured data, see PLATFORM-NOTES).
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
    self._check_common(X)
    if self.algorithm not in ('lloyd', 'elkan'):
      raise ValueError(f"algorithm must be 'lloyd' or 'elkan', got {self.algorithm!r}.")
    sw = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    rs = check_random_state(self.random_state)
    n_init = self._n_init(default=10)
    if not isinstance(self.init, str) and not callable(self.init) and n_init != 1:
      warnings.warn(
        'Explicit initial center position passed: performing only one init '
        f'in {type(self).__name__} instead of n_init={n_init}.',
        RuntimeWarning,
        stacklevel=2,
      )
      n_init = 1
    init, uniforms = self._initial_centers(X, sw, rs, n_init)
    res = kmeans.fit(
      X,
      self.n_clusters,
      init=init,
      n_init=n_init,
      uniforms=uniforms,
      max_iter=self.max_iter,
      tol=self.tol,
      sample_weight=sw,
    )
    self._set_result(X, res)
    return self


class MiniBatchKMeans(_KMeansBase):
  """Mini-batch k-means with scikit-learn's interface and update rule.

  Initial centres: the best of n_init seedings on a random subset of
  init_size points. Each step draws batch_size rows (with replacement),
  applies `kmeans.minibatch_step`, reassigns centres with tiny weight to
  random batch points (every 10 K samples seen, as scikit-learn), and stops
  early on the smoothed batch inertia (max_no_improvement) or centre motion
  (tol). `partial_fit` streams batches for data that do not fit in memory.
  """

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

  def _init_state(self, X, sw, rs):
    n_init = self._n_init(default=3)
    init_size = self.init_size if self.init_size is not None else 3 * self.batch_size
    init_size = min(max(init_size, self.n_clusters), X.shape[0])
    idx = rs.randint(0, X.shape[0], init_size)
    sub, subw = X[idx], sw[idx]
    best, best_inertia = None, np.inf
    for _ in range(n_init):
      init, u = self._initial_centers(sub, subw, rs, 1)
      c = (
        kmeans.kmeans_plusplus(sub, self.n_clusters, uniforms=u[0], sample_weight=subw)[0]
        if isinstance(init, str)
        else init[0]
      )
      inertia = kmeans.predict(sub, c, sample_weight=subw)[1]
      if inertia < best_inertia:
        best, best_inertia = c, inertia
    self._centers = np.asarray(best, np.float32)
    self._counts = np.zeros((self.n_clusters,), np.float32)
    self._n_since_last_reassign = 0
    self.n_steps_ = 0

  def _step(self, xb, wb, rs):
    old = self._centers
    c, counts, inertia, _ = kmeans.minibatch_step(old, self._counts, xb, wb)
    c, counts = np.array(c), np.array(counts)
    self._n_since_last_reassign += xb.shape[0]
    if self.reassignment_ratio > 0 and ((counts == 0).any() or self._n_since_last_reassign >= 10 * self.n_clusters):
      self._n_since_last_reassign = 0
      low = counts < self.reassignment_ratio * counts.max()
      if low.sum() > 0.5 * xb.shape[0]:
        low[np.argsort(counts)[int(0.5 * xb.shape[0]) :]] = False
      if low.any() and (~low).any():
        c[low] = xb[rs.choice(xb.shape[0], replace=False, size=int(low.sum()))]
        counts[low] = counts[~low].min()
    self._centers, self._counts = c, counts
    self.n_steps_ += 1
    return float(inertia), float(np.sum((c - old) ** 2))

  def fit(self, X, y=None, sample_weight=None):
    X = validate_data(self, X, dtype=_FLOATS, order='C')
    self._check_common(X)
    _check_int(self.batch_size, 'batch_size')
    _check_int(self.max_no_improvement, 'max_no_improvement', low=0) if (self.max_no_improvement is not None) else None
    sw = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    rs = self._rs = check_random_state(self.random_state)
    self._init_state(X, sw, rs)
    n, bs = X.shape[0], min(self.batch_size, X.shape[0])
    n_steps = (self.max_iter * n) // bs
    tol = kmeans.mean_variance(X) * self.tol if self.tol > 0 else 0.0
    ewa, ewa_min, no_improvement = None, np.inf, 0
    for step in range(n_steps):
      idx = rs.randint(0, n, bs)
      inertia, shift = self._step(X[idx].astype(np.float32), sw[idx], rs)
      inertia /= bs
      if step == 0:
        ewa = inertia
        continue
      alpha = min(bs * 2.0 / (n + 1), 1.0)
      ewa = ewa * (1 - alpha) + inertia * alpha
      if tol > 0.0 and shift <= tol:
        break
      if ewa < ewa_min:
        no_improvement, ewa_min = 0, ewa
      else:
        no_improvement += 1
      if self.max_no_improvement is not None and no_improvement >= self.max_no_improvement:
        break
    self.n_iter_ = int(np.ceil(self.n_steps_ * bs / n))
    self._finish(X, sw)
    return self

  def partial_fit(self, X, y=None, sample_weight=None):
    """One mini-batch step on X (initialising on the first call)."""
    first = not hasattr(self, '_centers')
    X = validate_data(self, X, dtype=_FLOATS, order='C', reset=first)
    sw = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    if first:
      self._check_common(X)
      self._rs = check_random_state(self.random_state)
      self._init_state(X, sw, self._rs)
    self._step(X.astype(np.float32), sw, self._rs)
    self.n_iter_ = self.n_steps_
    self._finish(X, sw, labels=self.compute_labels)
    return self

  def _finish(self, X, sw, labels=None):
    self.cluster_centers_ = self._centers.astype(X.dtype)
    self._n_features_out = self.n_clusters
    if self.compute_labels if labels is None else labels:
      lab, inertia = kmeans.predict(X, self._centers, sample_weight=sw)
      self.labels_, self.inertia_ = lab.astype(np.int32), float(inertia)


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
      return np.eye(k, dtype=np.float32)[lab]
    if self.init_params == 'random':
      r = rs.uniform(size=(n, k)).astype(np.float32)
      return r / r.sum(1, keepdims=True)
    if self.init_params == 'random_from_data':
      r = np.zeros((n, k), np.float32)
      r[rs.choice(n, size=k, replace=False), np.arange(k)] = 1
      return r
    if self.init_params == 'k-means++':
      u = rs.random_sample(kmeans.n_uniforms(k))
      r = np.zeros((n, k), np.float32)
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
    rs = check_random_state(self.random_state)
    warm = self.warm_start and hasattr(self, 'converged_')
    kw = dict(weights_init=self.weights_init, means_init=self.means_init, precisions_init=self.precisions_init)
    if warm:
      resp = [self.predict_proba(X).astype(np.float32)]
      kw = dict(weights_init=self.weights_, means_init=self.means_, precisions_init=self.precisions_)
    else:
      resp = [self._initial_resp(X, rs) for _ in range(self.n_init)]
    res = gmm.fit(
      X,
      self.n_components,
      covariance_type=self.covariance_type,
      tol=self.tol,
      reg_covar=self.reg_covar,
      max_iter=self.max_iter,
      n_init=len(resp),
      resp_init=np.stack(resp),
      labels=labels,
      **kw,
    )
    if not res.converged and self.max_iter > 0:
      warnings.warn(
        'Best performing initialization did not converge. Try different init '
        'parameters, or increase max_iter, tol, or check for degenerate data.',
        ConvergenceWarning,
        stacklevel=2,
      )
    dt = X.dtype
    self.weights_ = res.weights.astype(dt)
    self.means_ = res.means.astype(dt)
    self.covariances_ = res.covariances.astype(dt)
    self.precisions_cholesky_ = res.precisions_cholesky.astype(dt)
    pc = res.precisions_cholesky.astype(np.float64)
    if self.covariance_type == 'full':
      self.precisions_ = np.einsum('kij,klj->kil', pc, pc).astype(dt)
    elif self.covariance_type == 'tied':
      self.precisions_ = (pc @ pc.T).astype(dt)
    else:
      self.precisions_ = (pc**2).astype(dt)
    self.converged_ = res.converged
    self.n_iter_ = res.n_iter
    self.lower_bound_ = res.lower_bound
    return self._wlp(X).argmax(axis=1)

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
    _check_int(n_samples, 'n_samples')
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
      _check_float(self.gamma, 'gamma', low_open=True)
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
    affinity = np.asarray(self.kernel(X, X), np.float32) if callable(self.kernel) else None
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
      p = np.asarray(self.kernel(self.X_, X), np.float64).T @ self.label_distributions_
      norm = p.sum(1, keepdims=True)
      return p / np.where(norm == 0, 1.0, norm)
    return lp.predict_proba(self.X_, self.label_distributions_, X, **self._graph_kwargs()).astype(np.float64)

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
