"""Reference firing-rate ratios (FRR) of the tutorial's trained network on Rockpool's DynapSim with 5 % mismatch.

Runs ONLY under the reference venv (it imports rockpool); never imported by package code or tests:

    JAX_PLATFORMS=cpu $DYNAPSE_NB_REFERENCE_PYTHON benchmarks/reference_frr.py \\
        --w-in PATH/w_in_optimized.npy --w-rec PATH/w_rec_optimized.npy [--noise tutorial|default_rng] [--out FILE]

Prints one JSON object to stdout. For each mismatch seed s (``rng_key = jax.random.PRNGKey(s)``), the network
``Sequential(LinearJax(60 -> 2, weights), DynapSim((2, 2), has_rec=True, w_rec, percent_mismatch=0.05))``
is run on the 2 frozen-noise training samples (seed 2022) and on 100 test samples (seed 2023).
FRR of one sample = max / min of the 2 neurons' spike counts (inf when the min is 0).
A run without mismatch is reported too ("no_mismatch").

Frozen noise: rockpool 3.1.0 does not ship the tutorial's ``FrozenNoiseDataset`` (it lives in the docs folder,
not in the package). ``--noise tutorial`` (default) draws Poisson counts from numpy's legacy generator,
``np.random.RandomState(seed).poisson(rate * dt, (n, T, 60))`` -- the documented way the tutorial's data is made
(global ``np.random.seed(seed)`` then ``np.random.poisson``), so it reproduces the samples the weights were
trained on. ``--noise default_rng`` draws ``np.random.default_rng(seed).poisson(...)`` instead: new noise that
the network was never trained on (train FRRs then stay near 1).

The batch is run through ``jax.jit``; each sample starts from the module's initial state, as the tutorial's
per-sample loop (``reset_state`` + call) does. The first training batch is also checked against eager calls.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np
from _reference_env import emit, quiet

with quiet():  # keep stdout for the JSON object only
    import jax
    import rockpool
    from rockpool.devices.dynapse import DynapSim
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules.jax import LinearJax

DT = 1e-3
RATE = 50.0
T = 500
N_IN = 60


def frozen_noise(n_samples: int, seed: int, kind: str) -> np.ndarray:
    "Poisson spike counts (n_samples, T, 60) at 50 Hz, dt 1 ms, from the named generator."
    if kind == "default_rng":
        counts = np.random.default_rng(seed).poisson(RATE * DT, (n_samples, T, N_IN))
    elif kind == "tutorial":
        counts = np.random.RandomState(seed).poisson(RATE * DT, (n_samples, T, N_IN))
    else:
        raise ValueError(f"noise kind {kind!r} unknown; use 'tutorial' or 'default_rng'")
    return counts.astype(np.float32)


def frr(counts: np.ndarray) -> list:
    "Firing-rate ratio max/min over neurons for each row of `counts` (n_samples, n_neurons); inf when min is 0."
    hi, lo = counts.max(axis=1), counts.min(axis=1)
    return [float(h / l) if l > 0 else math.inf for h, l in zip(hi, lo)]


def build_net(w_in: np.ndarray, w_rec: np.ndarray, mismatch: float | None, seed: int | None):
    "The tutorial network with the given weights, mismatch fraction and mismatch PRNG seed."
    key = None if seed is None else jax.random.PRNGKey(seed)
    return Sequential(
        LinearJax(w_in.shape, has_bias=False, weight=w_in),
        DynapSim(w_rec.shape, has_rec=True, w_rec=w_rec, dt=DT, percent_mismatch=mismatch, rng_key=key),
    )


def jsonable(x):
    "inf -> the string 'inf' (JSON has no infinity)."
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    if isinstance(x, list):
        return [jsonable(v) for v in x]
    return x


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--w-in", required=True, help="(60, 2) .npy input weights (tutorial w_in_optimized.npy)")
    ap.add_argument("--w-rec", required=True, help="(2, 2) .npy recurrent weights (tutorial w_rec_optimized.npy)")
    ap.add_argument("--noise", choices=["tutorial", "default_rng"], default="tutorial")
    ap.add_argument("--mismatch", type=float, default=0.05, help="percent_mismatch (fraction, 0.05 = 5 %%)")
    ap.add_argument("--seeds", type=int, default=10, help="mismatch seeds 0 .. seeds-1")
    ap.add_argument("--n-test", type=int, default=100)
    ap.add_argument("--out", help="also write the JSON object to this file")
    a = ap.parse_args(argv)

    t_start = time.perf_counter()
    w_in, w_rec = np.load(a.w_in).astype(np.float32), np.load(a.w_rec).astype(np.float32)
    train, test = frozen_noise(2, 2022, a.noise), frozen_noise(a.n_test, 2023, a.noise)

    treedef = jax.tree_util.tree_structure(build_net(w_in, w_rec, a.mismatch, 0))
    fwd = jax.jit(lambda lv, x: jax.tree_util.tree_unflatten(treedef, lv)(x)[0])

    def counts(net, x):
        leaves, td = jax.tree_util.tree_flatten(net)
        if td != treedef:
            raise RuntimeError("network pytree structure changed between mismatch seeds; cannot reuse the jit")
        return np.asarray(fwd(leaves, x)).sum(axis=1)  # (B, 2) spike counts

    # jitted batch == tutorial's eager per-sample loop (checked once, mismatch seed 0)
    net0 = build_net(w_in, w_rec, a.mismatch, 0)
    eager = []
    for s in train:
        net0.reset_state()
        eager.append(np.asarray(net0(s)[0]).sum(axis=(0, 1)))
    jit_eq_eager = bool(np.array_equal(np.stack(eager), counts(net0, train)))

    per_seed = []
    for seed in [None] + list(range(a.seeds)):
        t0 = time.perf_counter()
        net = build_net(w_in, w_rec, None if seed is None else a.mismatch, seed)
        build_s = time.perf_counter() - t0
        c_train, c_test = counts(net, train), counts(net, test)
        f_test = frr(c_test)
        per_seed.append({
            "seed": "no_mismatch" if seed is None else seed,
            "train_counts": c_train.tolist(), "train_frr": jsonable(frr(c_train)),
            "test_frr_median": float(np.median(f_test)),
            "test_frr_max_finite": float(max(f for f in f_test if math.isfinite(f))),
            "test_n_inf": int(sum(math.isinf(f) for f in f_test)),
            "test_mean_count": float(c_test.mean()),
            "build_net_s": build_s,
        })
    mm = [r for r in per_seed if r["seed"] != "no_mismatch"]
    train_frr = np.array([[math.inf if v == "inf" else v for v in r["train_frr"]] for r in mm])
    res = {
        "reference": f"rockpool {rockpool.__version__}", "jax": jax.__version__,
        "noise": (f"{a.noise}: Poisson counts rate {RATE} Hz dt {DT}, train seed 2022 (2 samples), "
                  f"test seed 2023 ({a.n_test} samples); "
                  + ("np.random.RandomState(seed).poisson: reproduces the tutorial FrozenNoiseDataset data "
                     "(the dataset class itself is not shipped by rockpool)"
                     if a.noise == "tutorial" else
                     "np.random.default_rng(seed).poisson; rockpool does not ship the tutorial's FrozenNoiseDataset")),
        "percent_mismatch": a.mismatch, "mismatch_seeds": list(range(a.seeds)),
        "frr_definition": "max/min spike count over the 2 neurons per sample; inf when min is 0",
        "jit_batch_equals_eager_loop": jit_eq_eager,
        "summary": {
            "train_frr_median_over_seeds": [float(np.median(train_frr[:, i])) for i in range(train_frr.shape[1])],
            "train_frr_min_over_seeds": [float(train_frr[:, i].min()) for i in range(train_frr.shape[1])],
            "test_frr_median_median_over_seeds": float(np.median([r["test_frr_median"] for r in mm])),
            "test_frr_median_range_over_seeds": [float(min(r["test_frr_median"] for r in mm)),
                                                 float(max(r["test_frr_median"] for r in mm))],
        },
        "build_net_with_mismatch_median_s": float(np.median([r["build_net_s"] for r in mm])),
        "per_seed": per_seed,
        "total_script_s": time.perf_counter() - t_start,
    }
    return emit(res, a.out)


if __name__ == "__main__":
    main()
