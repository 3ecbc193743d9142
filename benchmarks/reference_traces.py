"""Cross-check traces of Rockpool's DynapSim (lumped v3.x model) on small hand-made inputs.

Runs ONLY under the reference venv (it imports rockpool); never imported by package code or tests:

    JAX_PLATFORMS=cpu $DYNAPSE_NB_REFERENCE_PYTHON benchmarks/reference_traces.py --out /work/scratch/ref_traces.npz

Writes an .npz (keep it out of the repo) and prints one JSON summary object to stdout. No mismatch; all
constructor arguments at their defaults except those listed per case (saved as ``<case>_args`` JSON).

* case1: N=3, no recurrence, T=300; input columns = constant 0.5 / a fixed Poisson-like pattern
  (``default_rng(0).poisson(0.2, T) * 2.0``) / zeros.
* case2: N=4, has_rec, ``w_rec = default_rng(1).normal(0, 3, (4, 4))``, T=500, input
  ``default_rng(2).poisson(0.1, (T, 4)) * 3.0``; Iscale default 1e-8.
* case3: as case2 with Iscale 5e-8 and Itau_mem doubled.

Keys per case ``cK``: ``cK_x`` (T, N) input in weight units, ``cK_w_rec`` (N, N) (zeros when no recurrence),
``cK_args`` (JSON string of changed constructor args), ``cK_spikes`` and ``cK_imem``/``cK_isyn``/``cK_vmem``/
``cK_iahp`` (T, N) records (spikes are counts per step; currents in A, vmem in V). ``defaults`` holds the JSON of
the constructor defaults of the installed rockpool.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import logging
import os
import sys
import warnings

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np

with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the JSON object only
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    import jax
    import rockpool
    from rockpool.devices.dynapse import DynapSim

RECORDS = ("imem", "isyn", "vmem", "iahp")


def constructor_defaults() -> dict:
    "Numeric defaults of DynapSim's constructor (currents, capacitances, constants, Iscale, dt)."
    sig = inspect.signature(DynapSim.__init__)
    return {k: p.default for k, p in sig.parameters.items() if isinstance(p.default, (int, float))
            and not isinstance(p.default, bool)}


def make_cases() -> dict:
    "The three hand-made cases: input, recurrent weights and changed constructor arguments."
    t1 = 300
    x1 = np.zeros((t1, 3), dtype=np.float32)
    x1[:, 0] = 0.5
    x1[:, 1] = np.random.default_rng(0).poisson(0.2, t1) * 2.0
    t2 = 500
    w = np.random.default_rng(1).normal(0, 3, (4, 4)).astype(np.float32)
    x2 = (np.random.default_rng(2).poisson(0.1, (t2, 4)) * 3.0).astype(np.float32)
    itau_mem = constructor_defaults()["Itau_mem"]
    return {
        "c1": {"x": x1, "w_rec": np.zeros((3, 3), np.float32), "args": {"shape": 3}},
        "c2": {"x": x2, "w_rec": w, "args": {"shape": [4, 4], "has_rec": True, "w_rec": "c2_w_rec"}},
        "c3": {"x": x2, "w_rec": w, "args": {"shape": [4, 4], "has_rec": True, "w_rec": "c3_w_rec",
                                             "Iscale": 5e-8, "Itau_mem": 2 * itau_mem}},
    }


def run_case(case: dict) -> dict:
    "Build DynapSim with the case's arguments, run it once on the case input and return its records."
    kw = {k: v for k, v in case["args"].items() if k not in ("shape", "w_rec")}
    shape = tuple(case["args"]["shape"]) if isinstance(case["args"]["shape"], list) else case["args"]["shape"]
    if kw.get("has_rec"):
        kw["w_rec"] = case["w_rec"]
    mod = DynapSim(shape, **kw)
    out, _, rec = mod(case["x"], record=True)
    res = {"spikes": np.asarray(out)[0]}
    for k in RECORDS:
        res[k] = np.asarray(rec[k])[0]
    return res


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output .npz path (outside the repo)")
    a = ap.parse_args(argv)
    arrays = {"defaults": np.array(json.dumps(constructor_defaults())),
              "rockpool_version": np.array(rockpool.__version__)}
    summary = {"reference": f"rockpool {rockpool.__version__}", "jax": jax.__version__, "out": a.out, "cases": {}}
    for name, case in make_cases().items():
        rec = run_case(case)
        arrays[f"{name}_x"] = case["x"]
        arrays[f"{name}_w_rec"] = case["w_rec"]
        arrays[f"{name}_args"] = np.array(json.dumps(case["args"]))
        for k, v in rec.items():
            arrays[f"{name}_{k}"] = v
        summary["cases"][name] = {"T": int(case["x"].shape[0]), "N": int(case["x"].shape[1]),
                                  "args": case["args"],
                                  "spike_counts": rec["spikes"].sum(axis=0).tolist(),
                                  "max_spikes_per_step": float(rec["spikes"].max()),
                                  "imem_max": float(rec["imem"].max()), "isyn_max": float(rec["isyn"].max())}
    np.savez(a.out, **arrays)
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main()
