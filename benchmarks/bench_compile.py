"""Benchmark: compiling a network for the chip -- mapping (`mapper`), quantization (`quantize`) and the
configuration (`config_from_specification`), each timed on its own and summed per call.

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_compile.py [--repeat 5] [--quick] [--out FILE]

Cases (graphs are built before timing; each repeat runs `spec = mapper(graph)`, `spec.update(quantize(**spec))`,
`config_from_specification(**spec)` and times the three steps):

* ``dense_1024``: ``LinearJax(1024 -> 1024)`` + ``DynapSim(1024, has_rec=True)``; every neuron has 32 non-zero
  input weights and 32 non-zero recurrent weights (fan-in 64, the CAM limit; rows drawn with
  ``np.random.default_rng(0)``); 1024 inputs + 1024 neurons = the 2048-tag budget; one parameter group -> 4 cores.
  Target: well under 1 s.
* ``layers_4``: ``32 -> 16 -> 8 -> 4 -> 2``, every DynapSim recurrent (30 neurons, one core).
* ``two_chips_2048``: a bare ``DynapSim(2048, has_rec=True)`` with 64 random recurrent inputs per neuron:
  8 cores on 2 chips, fan-out checked across chips.
* ``distinct_2048`` (skipped with ``--quick``): the worst case for clustering, 2048 neurons whose currents all
  differ (``Itau_mem``, ``Ispkthr`` log-uniform), merged into the 16 cores of the board.

Prints a table; writes ``benchmarks/results/compile.json``: ``{"mapping": {case: ...}, "quantize": {case: ...},
"config": {case: ...}, "total": {case: ...}, ...}``. ``total`` is the per-repeat sum: ``best_s`` of mapping +
quantize + config, and ``mapping_plus_config_best_s`` without the quantizer. Target: dense_1024 total < 1 s.
"""
from __future__ import annotations

import argparse, os, platform, sys, time, warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import print_checks, save_results  # noqa: E402

import numpy as np

from dynapse_nb.nn import LinearJax, Sequential
from dynapse_nb.dynapsim import DynapSim
from dynapse_nb.mapping import ClusteringWarning, fan_in, mapper, merge_populations
from dynapse_nb.quantize import DroppedWeightWarning, quantize
from dynapse_nb.from_spec import config_from_specification

HERE = Path(__file__).resolve().parent
TARGETS = dict(dense_1024_best_s=1.0, dense_1024_total_best_s=1.0)


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


def _stats(ts) -> dict: return {"first_call_s": ts[0], "best_s": min(ts)}


def run_case(graph, repeat: int) -> dict:
    "Timings of mapping, quantize and config for `repeat` compilations of `graph`, and facts about the result."
    tm, tq, tc = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusteringWarning)              # deviations are in the report
        warnings.simplefilter("ignore", DroppedWeightWarning)           # counted in the quantization report
        for _ in range(repeat):
            t0 = time.perf_counter(); spec = mapper(graph); t1 = time.perf_counter()
            spec.update(quantize(**spec)); t2 = time.perf_counter()
            cfg = config_from_specification(**spec); t3 = time.perf_counter()
            tm.append(t1 - t0); tq.append(t2 - t1); tc.append(t3 - t2)
    net = merge_populations(graph)
    rep = spec["clustering_report"]
    mapping = {"n_neuron": spec["n_neuron"], "n_in": spec["n_in"], "n_cluster": spec["n_cluster"],
               "n_chips_used": int(spec["core_map"].max()) // 4 + 1, "max_fan_in": int(fan_in(net).max()),
               "neurons_per_core": [r["n_neuron"] for r in rep],
               "max_deviation": max(max(r["max_deviation"].values()) for r in rep), **_stats(tm), "repeats": repeat}
    mem = [core.memory for chip in cfg["config"].chips for core in chip.cores]
    config = {"n_chips": len(cfg["config"].chips), "cam_entries": int(sum((m.syn_dendrite != 0).sum() for m in mem)),
              "sram_entries": int(sum(m.dest_core.any(-1).sum() for m in mem)), **_stats(tc)}
    tot = [a + b + c for a, b, c in zip(tm, tq, tc)]
    total = {**_stats(tot), "mapping_plus_config_best_s": min(a + c for a, c in zip(tm, tc))}
    return {"mapping": mapping, "quantize": {"nmse": spec["quantization_nmse"], **_stats(tq)}, "config": config,
            "total": total}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="calls per case (first and best are reported)")
    ap.add_argument("--quick", action="store_true", help="skip the slow worst case (distinct_2048)")
    ap.add_argument("--out", default=str(HERE / "results" / "compile.json"))
    a = ap.parse_args(argv)
    res = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "loadavg_at_start": list(os.getloadavg()), "targets": TARGETS}
    runs = {name: run_case(g, a.repeat) for name, g in graphs(a.quick).items()}
    for step in ("mapping", "quantize", "config", "total"): res[step] = {n: r[step] for n, r in runs.items()}
    m, t = res["mapping"], res["total"]
    res["checks"] = {"mapping dense_1024: best time < 1 s": m["dense_1024"]["best_s"] < TARGETS["dense_1024_best_s"],
                     "mapping + quantize + config dense_1024: best total < 1 s":
                         t["dense_1024"]["best_s"] < TARGETS["dense_1024_total_best_s"]}
    print(f"{'case':16s} {'N':>5s} {'Nin':>5s} {'cores':>5s} {'chips':>5s} {'fan-in':>6s} {'CAM':>7s} "
          f"{'map (ms)':>9s} {'quant (ms)':>10s} {'config (ms)':>11s} {'total (ms)':>10s}   (best of {a.repeat})")
    for name, r in m.items():
        c = res["config"][name]
        print(f"{name:16s} {r['n_neuron']:5d} {r['n_in']:5d} {r['n_cluster']:5d} {r['n_chips_used']:5d} "
              f"{r['max_fan_in']:6d} {c['cam_entries']:7d} {1e3 * r['best_s']:9.1f} "
              f"{1e3 * res['quantize'][name]['best_s']:10.1f} {1e3 * c['best_s']:11.1f} {1e3 * t[name]['best_s']:10.1f}")
    print_checks(res["checks"])
    save_results(res, a.out)
    return res


if __name__ == "__main__":
    main()
