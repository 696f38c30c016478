"""Baselines trained in the same run, on the same samples and the same (last-bar) features.

Each returns up-probabilities for the validation and test samples so every metric and gate treats
them exactly like the networks.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression

from training.datasets import WindowSet

BASELINES = ("majority", "persistence", "logistic", "lightgbm")


def majority(train: WindowSet, *evals: WindowSet) -> list[np.ndarray]:
    """The training base rate for every sample: calls the majority class, perfectly flat confidence."""
    rate = float(np.mean(train.direction))
    return [np.full(len(e), rate) for e in evals]


def persistence(
    train: WindowSet, last_return_train: np.ndarray, *evals: tuple[WindowSet, np.ndarray]
) -> list[np.ndarray]:
    """Sign of the last bar's return, with each sign's up-rate measured on training as its probability."""
    up = last_return_train > 0
    p_up_after_up = float(np.mean(train.direction[up])) if up.any() else 0.5
    p_up_after_down = float(np.mean(train.direction[~up])) if (~up).any() else 0.5
    return [np.where(r > 0, p_up_after_up, p_up_after_down) for _, r in evals]


def logistic(train: WindowSet, *evals: WindowSet, seed: int = 0) -> list[np.ndarray]:
    model = LogisticRegression(C=0.1, max_iter=300, random_state=seed)
    model.fit(train.last_rows(), train.direction.astype(int))
    return [model.predict_proba(e.last_rows())[:, 1] for e in evals]


def lightgbm(train: WindowSet, val: WindowSet, *evals: WindowSet, seed: int = 0, threads: int = 2) -> list[np.ndarray]:
    """LightGBM with early stopping on the validation split (which is the split it is compared on:
    the networks get the same favour through their own early stopping)."""
    import lightgbm as lgb

    params = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_data_in_leaf": 200,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "seed": seed,
        "deterministic": True,
        "num_threads": threads,
        "verbose": -1,
    }
    dtrain = lgb.Dataset(train.last_rows(), train.direction)
    dval = lgb.Dataset(val.last_rows(), val.direction, reference=dtrain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        booster = lgb.train(
            params, dtrain, num_boost_round=300, valid_sets=[dval], callbacks=[lgb.early_stopping(30, verbose=False)]
        )
    return [np.asarray(booster.predict(e.last_rows(), num_iteration=booster.best_iteration)) for e in (val, *evals)]
