"""Firing-rate ratios (FRR) of the shipped tutorial weights over many simulated chips, and the time to train them.

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_frr.py [--seeds 10] [--n-test 100] [--skip-train]
        [--weights PATH] [--ref-w-in PATH --ref-w-rec PATH] [--out benchmarks/results/frr.json]

Protocol (issue 3): the tutorial network (60 inputs -> 2 DynapSim neurons with recurrence, default four-synapse
model) with the shipped weights, on mismatch seeds 0..9 (``DynapSim(..., percent_mismatch=0.05, rng_key=s)``);
the two training samples ``FrozenNoiseDataset(2)`` (seed 2022) and 100 test samples
``FrozenNoiseDataset(100, seed=2023)``. FRR of a sample = max/min of the two neurons' spike counts over 500 ms
(infinite when the weaker neuron is silent; counted, and a pass for the training samples).
Targets: both training FRRs median >= 8 and minimum >= 3 over the seeds; test FRR median <= 1.2.

Unless --skip-train, the weights are also trained from scratch with ``TUTORIAL_CONFIG`` and timed (target: under
5 minutes on 2 CPU cores); the JSON says whether the result is bit-identical to the shipped file.
When DYNAPSE_NB_REFERENCE_PYTHON is set, benchmarks/reference_frr.py runs under that interpreter (the Rockpool
venv) on the reference tutorial weights (--ref-w-in/--ref-w-rec) and its summary is put beside ours.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np
import jax

from dynapse_nb.train import (TUTORIAL_CONFIG, frr_report, load_tutorial_weights, tutorial_weights_info,
                              train_tutorial_weights, weights_digest)

ROOT = Path(__file__).resolve().parents[1]
TARGETS = dict(train_frr_median_min=8.0, train_frr_min_min=3.0, test_frr_median_max=1.2, train_seconds_max=300.0)


def jsonable(x):
    "numpy -> Python, inf/nan -> strings (JSON has neither)."
    if isinstance(x, dict): return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)): return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray): return jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return "inf" if math.isinf(x) else "nan" if math.isnan(x) else x
    if isinstance(x, np.integer): return int(x)
    return x


def verdict(s: dict) -> dict:
    "Pass/fail of each target from a frr_report summary."
    return dict(train_frr_median=all(m >= TARGETS["train_frr_median_min"] for m in s["train_frr_median"]),
                train_frr_min=all(m >= TARGETS["train_frr_min_min"] for m in s["train_frr_min"]),
                train_right_winner=all(n == s["n_seeds"] for n in s["train_right_winner"]),
                test_frr_median=s["test_frr_median"] <= TARGETS["test_frr_median_max"])


def run_reference(py: str, w_in: str | None, w_rec: str | None, seeds: int, n_test: int) -> dict:
    if not (w_in and w_rec):
        return dict(error="DYNAPSE_NB_REFERENCE_PYTHON is set but --ref-w-in/--ref-w-rec were not given "
                          "(the reference tutorial's w_in_optimized.npy and w_rec_optimized.npy)")
    cmd = [py, str(ROOT / "benchmarks" / "reference_frr.py"), "--w-in", w_in, "--w-rec", w_rec,
           "--seeds", str(seeds), "--n-test", str(n_test)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if r.returncode:
        return dict(error=f"reference_frr.py exited with {r.returncode}", stderr=r.stderr[-2000:])
    ref = json.loads(r.stdout)
    return dict(command=" ".join(cmd), seconds=time.perf_counter() - t0, summary=ref.get("summary"),
                reference=ref.get("reference"), noise=ref.get("noise"),
                per_seed_train_frr=[(p["seed"], p["train_frr"]) for p in ref.get("per_seed", [])])


def print_table(name: str, s: dict):
    med, mn, inf = s["train_frr_median"], s["train_frr_min"], s["train_n_inf"]
    print(f"{name:<28} train FRR median {med[0]:>6.3g} {med[1]:>6.3g} | min {mn[0]:>6.3g} {mn[1]:>6.3g} | "
          f"inf {inf[0]}/{s['n_seeds']} {inf[1]}/{s['n_seeds']} | test median {s['test_frr_median']:.3f} "
          f"(p90 {s['test_frr_p90']:.3f}, mean count {s['test_mean_count']:.1f})")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", help="an .npz saved by save_tutorial_weights (default: the shipped one)")
    ap.add_argument("--seeds", type=int, default=10, help="mismatch seeds 0 .. seeds-1")
    ap.add_argument("--n-test", type=int, default=100)
    ap.add_argument("--skip-train", action="store_true", help="do not time a training from scratch")
    ap.add_argument("--ref-w-in"); ap.add_argument("--ref-w-rec")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "frr.json"))
    a = ap.parse_args(argv)

    w_in, w_rec = load_tutorial_weights(a.weights)
    info = tutorial_weights_info(a.weights)
    t0 = time.perf_counter()
    rep = frr_report(w_in, w_rec, seeds=range(a.seeds), n_test=a.n_test)
    eval_s = time.perf_counter() - t0
    nominal = frr_report(w_in, w_rec, seeds=[0], percent_mismatch=0.0, n_test=a.n_test)["summary"]
    res = dict(
        protocol=dict(model="tutorial network 60 -> 2, DynapSim four-synapse model, has_rec", percent_mismatch=0.05,
                      mismatch_seeds=list(range(a.seeds)), train="FrozenNoiseDataset(2), seed 2022",
                      test=f"FrozenNoiseDataset({a.n_test}, seed=2023)",
                      frr="max/min spike count of the 2 neurons over 500 ms; inf when the weaker is silent"),
        targets=TARGETS, weights=dict(file=str(a.weights or "shipped"), digest=info["digest"],
                                      made_with=info["config"], stop_reason=info["stop_reason"],
                                      best_step=info["best_step"]),
        ours=dict(summary=rep["summary"], passes=verdict(rep["summary"]), eval_seconds=eval_s,
                  per_seed=[dict(seed=s, train_counts=rep["train_counts"][i], train_frr=rep["train_frr"][i],
                                 test_frr_median=rep["summary"]["test_frr_median_per_seed"][i],
                                 test_mean_count=float(rep["test_counts"][i].mean()))
                            for i, s in enumerate(rep["seeds"])]),
        ours_no_mismatch=nominal,
        environment=dict(jax=jax.__version__, numpy=np.__version__, python=sys.version.split()[0],
                         cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                         load_average_1min=os.getloadavg()[0] if hasattr(os, "getloadavg") else None),
    )
    print_table("ours (shipped weights)", rep["summary"])
    print_table("ours, no mismatch", nominal)
    print("passes:", res["ours"]["passes"])

    if not a.skip_train:
        t0 = time.perf_counter()
        tr = train_tutorial_weights(TUTORIAL_CONFIG, progress=False)
        secs = time.perf_counter() - t0
        d = weights_digest(tr.params["0_LinearJax"]["weight"], tr.params["1_DynapSim"]["w_rec"])
        res["training"] = dict(seconds=secs, under_5_min=secs < TARGETS["train_seconds_max"], steps=tr.stop_step,
                               best_step=tr.best_step, stop_reason=tr.stop_reason, digest=d,
                               bit_identical_to_shipped=d == info["digest"],
                               load_average_1min_after=os.getloadavg()[0] if hasattr(os, "getloadavg") else None)
        print(f"training from scratch: {secs:.1f} s, {tr.stop_step} steps ({tr.stop_reason}); "
              f"bit-identical to the shipped weights: {d == info['digest']}")

    py = os.environ.get("DYNAPSE_NB_REFERENCE_PYTHON")
    if py:
        res["reference"] = run_reference(py, a.ref_w_in, a.ref_w_rec, a.seeds, a.n_test)
        s = res["reference"].get("summary")
        if s:
            print(f"{'reference (Rockpool)':<28} train FRR median {s['train_frr_median_over_seeds']} | min "
                  f"{s['train_frr_min_over_seeds']} | test median {s['test_frr_median_median_over_seeds']:.3f}")
        else:
            print("reference:", res["reference"].get("error"))
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(jsonable(res), indent=1) + "\n")
    print(f"wrote {out}")
    return res


if __name__ == "__main__":
    main()
