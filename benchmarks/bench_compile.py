"""Benchmark: compiling a network for the chip. For now the mapping step (`dynapse_nb.mapping.mapper`); the
configuration step will be added here later, under its own key of the JSON.

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_compile.py [--repeat 5] [--quick] [--out FILE]

Cases (graphs are built before timing; the time is `mapper(graph)` alone):

* ``dense_1024``: ``LinearJax(1024 -> 1024)`` + ``DynapSim(1024, has_rec=True)``; every neuron has 32 non-zero
  input weights and 32 non-zero recurrent weights (fan-in 64, the CAM limit; rows drawn with
  ``np.random.default_rng(0)``); 1024 inputs + 1024 neurons = the 2048-tag budget; one parameter group -> 4 cores.
  Target: well under 1 s.
* ``layers_4``: ``32 -> 16 -> 8 -> 4 -> 2``, every DynapSim recurrent (30 neurons, one core).
* ``two_chips_2048``: a bare ``DynapSim(2048, has_rec=True)`` with 64 random recurrent inputs per neuron:
  8 cores on 2 chips, fan-out checked across chips.
* ``distinct_2048`` (skipped with ``--quick``): the worst case for clustering, 2048 neurons whose currents all
  differ (``Itau_mem``, ``Ispkthr`` log-uniform), merged into the 16 cores of the board.

Prints a table; writes ``benchmarks/results/compile.json`` (``{"mapping": {case: ...}, ...}``).
"""
from __future__ import annotations

import argparse, json, os, platform, time, warnings
from pathlib import Path

import numpy as np

from dynapse_nb.nn import LinearJax, Sequential
from dynapse_nb.dynapsim import DynapSim
from dynapse_nb.mapping import ClusteringWarning, fan_in, mapper, merge_populations

HERE = Path(__file__).resolve().parent
TARGETS = dict(dense_1024_best_s=1.0)


def sparse_columns(n_pre: int, n_post: int, k: int, rng) -> np.ndarray:
    "(n_pre, n_post) float32 with exactly k non-zero normal entries per column."
    w = np.zeros((n_pre, n_post), np.float32)
    rows = np.argsort(rng.random((n_pre, n_post)), axis=0)[:k]          # k distinct rows per column
    w[rows, np.arange(n_post)] = rng.normal(size=(k, n_post))
    return w


def graphs(quick: bool) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    w_in, w_rec = sparse_columns(1024, 1024, 32, rng), sparse_columns(1024, 1024, 32, rng)
    out["dense_1024"] = Sequential(LinearJax((1024, 1024), weight=w_in),
                                   DynapSim(1024, has_rec=True, w_rec=w_rec)).as_graph()
    sizes, mods = [32, 16, 8, 4, 2], []
    for a, b in zip(sizes[:-1], sizes[1:]):
        mods += [LinearJax((a, b), weight=rng.normal(size=(a, b))),
                 DynapSim(b, has_rec=True, w_rec=rng.normal(size=(b, b)))]
    out["layers_4"] = Sequential(*mods).as_graph()
    out["two_chips_2048"] = DynapSim(2048, has_rec=True, w_rec=sparse_columns(2048, 2048, 64, rng)).as_graph()
    if not quick:
        n = 2048
        out["distinct_2048"] = DynapSim(n, Itau_mem=1e-12 * np.exp(rng.uniform(0, 3, n)),
                                        Ispkthr=1e-7 * np.exp(rng.uniform(0, 1, n))).as_graph()
    return out


def run_case(graph, repeat: int) -> dict:
    ts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusteringWarning)              # deviations are in the report
        for _ in range(repeat):
            t0 = time.perf_counter(); spec = mapper(graph); ts.append(time.perf_counter() - t0)
    net = merge_populations(graph)
    rep = spec["clustering_report"]
    return {"n_neuron": spec["n_neuron"], "n_in": spec["n_in"], "n_cluster": spec["n_cluster"],
            "n_chips_used": int(spec["core_map"].max()) // 4 + 1, "max_fan_in": int(fan_in(net).max()),
            "neurons_per_core": [r["n_neuron"] for r in rep],
            "max_deviation": max(max(r["max_deviation"].values()) for r in rep),
            "first_call_s": ts[0], "best_s": min(ts), "repeats": repeat}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="calls per case (first and best are reported)")
    ap.add_argument("--quick", action="store_true", help="skip the slow worst case (distinct_2048)")
    ap.add_argument("--out", default=str(HERE / "results" / "compile.json"))
    a = ap.parse_args(argv)
    res = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "loadavg_at_start": list(os.getloadavg()), "targets": TARGETS}
    res["mapping"] = {name: run_case(g, a.repeat) for name, g in graphs(a.quick).items()}
    m = res["mapping"]
    res["checks"] = {"mapping dense_1024: best time < 1 s": m["dense_1024"]["best_s"] < TARGETS["dense_1024_best_s"]}
    print(f"{'mapping case':16s} {'N':>5s} {'Nin':>5s} {'cores':>5s} {'chips':>5s} {'fan-in':>6s} "
          f"{'max dev':>8s} {'first (ms)':>11s} {'best (ms)':>10s}")
    for name, r in m.items():
        print(f"{name:16s} {r['n_neuron']:5d} {r['n_in']:5d} {r['n_cluster']:5d} {r['n_chips_used']:5d} "
              f"{r['max_fan_in']:6d} {r['max_deviation']:8.3f} {1e3 * r['first_call_s']:11.1f} {1e3 * r['best_s']:10.1f}")
    for k, ok in res["checks"].items(): print(f"[{'ok' if ok else 'MISSED'}] {k}")
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {out}")
    return res


if __name__ == "__main__":
    main()
