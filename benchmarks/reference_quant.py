"""Reference quality and cost of Rockpool's ``autoencoder_quantization`` (4-bit masks + 4 base weights per core).

Runs ONLY under the reference venv (it imports rockpool); never imported by package code or tests:

    JAX_PLATFORMS=cpu $DYNAPSE_NB_REFERENCE_PYTHON benchmarks/reference_quant.py \\
        --w-in PATH/w_in_optimized.npy --w-rec PATH/w_rec_optimized.npy [--big-repeats 1] [--out FILE]

Prints one JSON object to stdout. Cases:

* ``random_256``: a 256 x 256 matrix ``np.random.default_rng(0).normal(0, 5, (256, 256))`` with half of the
  entries zeroed at random (``default_rng(1).permutation``), quantized as one cluster (recurrent weights of 256
  neurons on one core; no input weights). About a minute per run on a laptop CPU.
* ``tutorial``: the tutorial's trained weights, through ``mapper(net.as_graph())`` then
  ``autoencoder_quantization(**spec)`` as in the tutorial (Iscale 1e-8 from the mapper; the tutorial's later
  ``Iscale *= 50`` only rescales the base currents, not the masks).

Metrics per run: wall time (CPU load from other processes shows in ``loadavg_at_start``);
normalised MSE = mean((W_hat - W)^2) / mean(W^2) over all entries, where
W_hat = sign * sum_b bit_b(mask) * Iw_b / Iscale; fraction of non-zero weights given mask 0 (dropped
connections); the 4 base currents Iw_0..Iw_3 (A); rockpool's own final ``quantization_loss``.
Rockpool initialises the autoencoder from numpy's global RNG, so each run seeds it (``np.random.seed(run)``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np
from _reference_env import emit, quiet

with quiet():  # keep stdout for the JSON object only
    import jax
    import rockpool
    from rockpool.devices.dynapse import DynapSim, autoencoder_quantization, mapper
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules.jax import LinearJax

N_BITS = 4


def reconstruct(mask: np.ndarray, sign: np.ndarray, iw: list, iscale: float) -> np.ndarray:
    "Simulator weights implied by integer masks, signs and base currents: sign * sum_b bit_b * Iw_b / Iscale."
    mask = np.asarray(mask, dtype=np.int64)
    mag = sum(((mask >> b) & 1) * iw[b] for b in range(N_BITS))
    return np.asarray(sign, dtype=float) * mag / iscale


def metrics(w: np.ndarray, w_hat: np.ndarray, mask: np.ndarray) -> dict:
    "Normalised MSE over all entries and the fraction of non-zero weights whose mask is 0."
    nz = w != 0
    return {
        "shape": list(w.shape), "n_nonzero": int(nz.sum()),
        "nmse": float(np.mean((w_hat - w) ** 2) / np.mean(w ** 2)),
        "mean_abs_err_over_mean_abs_w": float(np.abs(w_hat - w)[nz].mean() / np.abs(w[nz]).mean()),
        "frac_nonzero_mask0": float(np.mean(np.asarray(mask)[nz] == 0)),
        "n_distinct_magnitudes": int(len(np.unique(np.round(np.abs(w_hat[nz]), 9)))),
        # levels that differ by more than 2 % of max|W| (near-equal Iw_b collapse 16 masks to ~5 levels)
        "n_effective_levels_2pct": int(len(np.unique(np.round(np.abs(w_hat[nz]) / (0.02 * np.abs(w).max()))))),
    }


def run_quant(seed: int, **spec) -> tuple:
    "One seeded autoencoder_quantization call; returns (result dict, wall seconds)."
    np.random.seed(seed)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        q = autoencoder_quantization(**spec)
    return q, time.perf_counter() - t0


def base_currents(q: dict, cluster: int = 0) -> list:
    return [float(q[f"Iw_{b}"][cluster]) for b in range(N_BITS)]


def random_case(seed: int) -> dict:
    "The 256 x 256 half-sparse random matrix as one cluster's recurrent weights."
    w = np.random.default_rng(0).normal(0, 5, (256, 256))
    w.flat[np.random.default_rng(1).permutation(w.size)[: w.size // 2]] = 0.0
    iscale = 1e-8
    q, wall = run_quant(seed, n_cluster=1, core_map=np.zeros(256, dtype=int), weights_in=None, weights_rec=w,
                        Iscale=iscale)
    iw = base_currents(q)
    w_hat = reconstruct(q["weights_rec"][0], q["sign_rec"][0], iw, iscale)
    return {"seed": seed, "wall_s": wall, "Iw": iw, "quantization_loss": float(q["quantization_loss"][0]),
            **metrics(w, w_hat, q["weights_rec"][0])}


def tutorial_case(w_in: np.ndarray, w_rec: np.ndarray, seed: int) -> dict:
    "The tutorial's trained weights through mapper + autoencoder_quantization, as in the tutorial."
    net = Sequential(LinearJax(w_in.shape, has_bias=False, weight=w_in),
                     DynapSim(w_rec.shape, has_rec=True, w_rec=w_rec, dt=1e-3))
    spec = mapper(net.as_graph())
    iscale = float(spec["Iscale"])
    q, wall = run_quant(seed, **spec)
    iw = base_currents(q)
    hat_in = reconstruct(q["weights_in"][0], q["sign_in"][0], iw, iscale)
    hat_rec = reconstruct(q["weights_rec"][0], q["sign_rec"][0], iw, iscale)
    both = np.concatenate([np.asarray(spec["weights_in"]), np.asarray(spec["weights_rec"])])
    both_hat = np.concatenate([hat_in, hat_rec])
    both_mask = np.concatenate([q["weights_in"][0], q["weights_rec"][0]])
    return {"seed": seed, "wall_s": wall, "Iscale": iscale, "n_cluster": int(spec["n_cluster"]), "Iw": iw,
            "quantization_loss": float(q["quantization_loss"][0]),
            "all": metrics(both, both_hat, both_mask),
            "w_in": metrics(np.asarray(spec["weights_in"]), hat_in, q["weights_in"][0]),
            "w_rec": metrics(np.asarray(spec["weights_rec"]), hat_rec, q["weights_rec"][0]),
            "max_abs_err_in": float(np.abs(hat_in - spec["weights_in"]).max()),
            "max_abs_err_rec": float(np.abs(hat_rec - spec["weights_rec"]).max())}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--w-in", required=True, help="(60, 2) .npy input weights (tutorial w_in_optimized.npy)")
    ap.add_argument("--w-rec", required=True, help="(2, 2) .npy recurrent weights (tutorial w_rec_optimized.npy)")
    ap.add_argument("--big-repeats", type=int, default=1, help="runs of the 256 x 256 case (about 1 min each)")
    ap.add_argument("--tutorial-repeats", type=int, default=5, help="runs of the tutorial case (seconds each)")
    ap.add_argument("--out", help="also write the JSON object to this file")
    a = ap.parse_args(argv)

    t_start = time.perf_counter()
    w_in, w_rec = np.load(a.w_in), np.load(a.w_rec)
    res = {"reference": f"rockpool {rockpool.__version__}", "jax": jax.__version__, "cpu_count": os.cpu_count(),
           "loadavg_at_start": list(os.getloadavg()),
           "nmse_definition": "mean((W_hat - W)^2) / mean(W^2) over all entries (zeros included)",
           "tutorial": [tutorial_case(w_in, w_rec, s) for s in range(a.tutorial_repeats)],
           "random_256": [random_case(s) for s in range(a.big_repeats)]}
    res["total_script_s"] = time.perf_counter() - t_start
    return emit(res, a.out)


if __name__ == "__main__":
    main()
