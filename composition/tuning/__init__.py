"""Scale-out: Optuna studies over the product's parameters, trials on a local process pool or Ray."""
