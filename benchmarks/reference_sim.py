"""Reference timings of Rockpool's DynapSim simulator (the baseline dynapse_nb is compared against).

Runs ONLY under the reference venv (it imports rockpool); never imported by package code or tests:

    JAX_PLATFORMS=cpu $DYNAPSE_NB_REFERENCE_PYTHON benchmarks/reference_sim.py [--out FILE] [--quick]

Prints one JSON object to stdout (rockpool's log chatter goes to stderr). Three measurements:

* ``tutorial_eager``: ``Sequential(LinearJax((60, 2)), DynapSim((2, 2), has_rec=True))`` called eagerly on one
  (500, 60) Poisson sample (50 Hz, dt 1 ms): time of the first call, median of later calls.
* ``tutorial_100_sample_loop``: the seed tutorial's histogram loop (reset state, call the net, per sample) over
  100 samples, total time.
* ``dense_1024_jit``: ``LinearJax((1024, 1024)) + DynapSim((1024, 1024), has_rec=True)`` under ``jax.jit``,
  batch 100 x 500 steps: compile time, median run time and neuron-steps per second.

With ``--cases N_IN:N:BATCH[:REPEATS],...`` only the jitted side-by-side cases run (``time_jit``), as
benchmarks/bench_sim.py asks for them.

Only rockpool's public API is called; timings are wall-clock on whatever CPU runs the script.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
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


def poisson_raster(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    "Poisson spike counts at `RATE` Hz per step of `DT` s, as float32."
    return rng.poisson(RATE * DT, shape).astype(np.float32)


def tutorial_net(w_in: np.ndarray | None, w_rec: np.ndarray | None):
    "The 60 -> 2 tutorial network; random (seeded) weights unless given."
    np.random.seed(0)  # rockpool initialises weights from numpy's global RNG
    lin = LinearJax((60, 2), has_bias=False) if w_in is None else LinearJax((60, 2), has_bias=False, weight=w_in)
    syn = (DynapSim((2, 2), has_rec=True, dt=DT) if w_rec is None
           else DynapSim((2, 2), has_rec=True, dt=DT, w_rec=w_rec))
    return Sequential(lin, syn)


def time_eager(net, sample: np.ndarray, repeats: int) -> dict:
    "First-call and median repeated-call wall time of an eager module call."
    t0 = time.perf_counter()
    out, _, _ = net(sample)
    np.asarray(out)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out, _, _ = net(sample)
        np.asarray(out)
        times.append(time.perf_counter() - t0)
    return {"first_call_s": first, "median_call_s": statistics.median(times), "repeats": repeats,
            "output_spike_counts": np.asarray(out).sum(axis=(0, 1)).tolist()}


def time_sample_loop(net, data: np.ndarray) -> dict:
    "The tutorial's per-sample loop (reset state, call, read spike counts), total wall time."
    t0 = time.perf_counter()
    frr = []
    for sample in data:
        net.reset_state()
        out, _, _ = net(sample)
        counts = np.asarray(out).sum(axis=1).flatten()
        frr.append(float(counts.max() / counts.min()) if counts.min() > 0 else float("inf"))
    total = time.perf_counter() - t0
    return {"n_samples": len(data), "total_s": total, "per_sample_s": total / len(data),
            "samples_per_s": len(data) / total}


def time_dense_jit(n: int, batch: int, steps: int, repeats: int, seed: int = 0) -> dict:
    "Compile time and median run time of a jitted n-input, n-neuron dense recurrent network."
    np.random.seed(seed)
    net = Sequential(LinearJax((n, n), has_bias=False), DynapSim((n, n), has_rec=True, dt=DT))
    x = jax.device_put(poisson_raster(np.random.default_rng(seed), (batch, steps, n)))
    leaves, treedef = jax.tree_util.tree_flatten(net)  # flat leaves: lower/compile once, call many times
    fwd = jax.jit(lambda lv, inp: jax.tree_util.tree_unflatten(treedef, lv)(inp)[0])  # spikes only
    t0 = time.perf_counter()
    compiled = fwd.lower(leaves, x).compile()
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = compiled(leaves, x)
        out.block_until_ready()
        times.append(time.perf_counter() - t0)
    run_s = statistics.median(times)
    return {"n_in": n, "n_neurons": n, "batch": batch, "steps": steps, "compile_s": compile_s,
            "median_run_s": run_s, "run_times_s": times, "neuron_steps_per_s": batch * steps * n / run_s,
            "mean_rate_hz": float(np.asarray(out).mean() / DT)}


def time_jit(n_in: int, n: int, batch: int, steps: int, repeats: int, seed: int = 0) -> dict:
    """One case of the side-by-side table: ``LinearJax((n_in, n)) + DynapSim((n, n), has_rec=True)`` under
    ``jax.jit``: compile time, first call (compile + first run) and the median of later runs."""
    np.random.seed(seed)
    net = Sequential(LinearJax((n_in, n), has_bias=False), DynapSim((n, n), has_rec=True, dt=DT))
    x = jax.device_put(poisson_raster(np.random.default_rng(seed), (batch, steps, n_in)))
    leaves, treedef = jax.tree_util.tree_flatten(net)
    fwd = jax.jit(lambda lv, inp: jax.tree_util.tree_unflatten(treedef, lv)(inp)[0])
    t0 = time.perf_counter()
    compiled = fwd.lower(leaves, x).compile()
    compile_s = time.perf_counter() - t0
    compiled(leaves, x).block_until_ready()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        compiled(leaves, x).block_until_ready()
        times.append(time.perf_counter() - t0)
    return {"n_in": n_in, "n_neurons": n, "batch": batch, "steps": steps, "compile_s": compile_s,
            "first_call_s": first, "median_run_s": statistics.median(times), "run_times_s": times}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--w-in", help="optional (60, 2) .npy input weights for the tutorial net (default: random)")
    ap.add_argument("--w-rec", help="optional (2, 2) .npy recurrent weights for the tutorial net")
    ap.add_argument("--eager-repeats", type=int, default=10)
    ap.add_argument("--loop-samples", type=int, default=100)
    ap.add_argument("--dense-n", type=int, default=1024)
    ap.add_argument("--dense-batch", type=int, default=100)
    ap.add_argument("--dense-steps", type=int, default=500)
    ap.add_argument("--dense-repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for checking the script runs")
    ap.add_argument("--out", help="also write the JSON object to this file")
    ap.add_argument("--cases", help="only the jitted table cases N_IN:N:BATCH[:REPEATS],... (e.g. 60:2:100,1024:1024:100:3)")
    ap.add_argument("--steps", type=int, default=500, help="time steps of --cases")
    a = ap.parse_args(argv)
    if a.cases:
        res = {"reference": f"rockpool {rockpool.__version__}", "jax": jax.__version__,
               "backend": jax.default_backend(), "loadavg_at_start": list(os.getloadavg()), "jit": {}}
        for case in a.cases.split(","):
            f = [int(v) for v in case.split(":")]
            res["jit"][case] = time_jit(f[0], f[1], f[2], a.steps, f[3] if len(f) > 3 else 10)
        res["loadavg_at_end"] = list(os.getloadavg())
        return emit(res, a.out)
    if a.quick:
        a.eager_repeats, a.loop_samples, a.dense_n, a.dense_batch, a.dense_steps, a.dense_repeats = 2, 3, 64, 4, 50, 1

    w_in = None if a.w_in is None else np.load(a.w_in)
    w_rec = None if a.w_rec is None else np.load(a.w_rec)
    t_start = time.perf_counter()
    net = tutorial_net(w_in, w_rec)
    rng = np.random.default_rng(2022)
    res = {
        "reference": f"rockpool {rockpool.__version__}", "jax": jax.__version__,
        "backend": jax.default_backend(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "loadavg_at_start": list(os.getloadavg()),
        "weights": "tutorial files" if w_in is not None else "rockpool default init, np.random.seed(0)",
        "input": f"Poisson counts, {RATE} Hz, dt {DT}, np.random.default_rng(2022)",
    }
    res["tutorial_eager"] = time_eager(net, poisson_raster(rng, (500, 60)), a.eager_repeats)
    res["tutorial_100_sample_loop"] = time_sample_loop(net, poisson_raster(rng, (a.loop_samples, 500, 60)))
    res["dense_1024_jit"] = time_dense_jit(a.dense_n, a.dense_batch, a.dense_steps, a.dense_repeats)
    res["total_script_s"] = time.perf_counter() - t_start
    return emit(res, a.out)


if __name__ == "__main__":
    main()
