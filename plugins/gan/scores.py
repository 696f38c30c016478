"""Post-hoc scores of synthetic windows (scikit-learn): the discriminative score |accuracy - 0.5| of a
classifier telling real from synthetic windows, and the predictive score (train on synthetic, test on
real: next-step |r| error against train on real, test on real)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def windows(paths: Sequence[F64], length: int) -> F64:
    """Non-overlapping windows of `length` bars from every path, shape (n, length)."""
    out = [p[: (p.size // length) * length].reshape(-1, length) for p in paths if p.size >= length]
    return np.concatenate(out) if out else np.empty((0, length))


def _summary(w: F64) -> F64:
    a = np.abs(w)
    d = w - w.mean(axis=1, keepdims=True)
    v = np.maximum((d**2).mean(axis=1), 1e-300)
    ac1 = ((a[:, 1:] - a.mean(1, keepdims=True)) * (a[:, :-1] - a.mean(1, keepdims=True))).mean(1) / np.maximum(
        a.var(axis=1), 1e-300
    )
    return np.column_stack(
        [np.log(np.sqrt(v)), (d**4).mean(1) / v**2, ac1, a.max(1) / np.sqrt(v), w.sum(1), np.log(a.mean(1) + 1e-12)]
    )


def discriminative_score(real: Sequence[F64], syn: Sequence[F64], seed: int, length: int = 64) -> float:
    """|held-out accuracy - 0.5| of a gradient-boosting classifier on window summaries (0 = indistinguishable)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    wr, ws = windows(real, length), windows(syn, length)
    n = min(len(wr), len(ws))
    if n < 20:
        return float("nan")
    rng = np.random.default_rng(seed)
    wr, ws = wr[rng.choice(len(wr), n, replace=False)], ws[rng.choice(len(ws), n, replace=False)]
    x = np.vstack([_summary(wr), _summary(ws)])
    y = np.r_[np.zeros(n), np.ones(n)]
    order = rng.permutation(2 * n)
    x, y = x[order], y[order]
    cut = n  # half to fit, half to score
    clf = HistGradientBoostingClassifier(max_iter=100, random_state=seed).fit(x[:cut], y[:cut])
    return float(abs(clf.score(x[cut:], y[cut:]) - 0.5))


def _lagged(paths: Sequence[F64], lags: int) -> tuple[F64, F64]:
    xs, ys = [], []
    for p in paths:
        a = np.abs(p)
        if a.size <= lags:
            continue
        idx = np.arange(lags, a.size)
        xs.append(a[idx[:, None] - np.arange(1, lags + 1)[None, :]])
        ys.append(a[idx])
    return np.concatenate(xs), np.concatenate(ys)


def predictive_ratio(real: Sequence[F64], syn: Sequence[F64], lags: int = 10) -> float:
    """Mean absolute error on the later half of the real data of a ridge model of |r_t| on |r_{t-1..t-lags}|
    fitted on synthetic paths, divided by the same model fitted on the earlier half of the real data."""
    from sklearn.linear_model import Ridge

    half = [p[: p.size // 2] for p in real]
    test = [p[p.size // 2 :] for p in real]
    xt, yt = _lagged(test, lags)
    xr, yr = _lagged(half, lags)
    xs, ys = _lagged(syn, lags)
    e_real = float(np.mean(np.abs(Ridge(alpha=1e-6).fit(xr, yr).predict(xt) - yt)))
    e_syn = float(np.mean(np.abs(Ridge(alpha=1e-6).fit(xs, ys).predict(xt) - yt)))
    return e_syn / e_real if e_real > 0 else float("nan")
