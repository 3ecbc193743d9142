"""Firing-rate ratios (FRR) of the shipped tutorial weights over ten chips -- in the lumped simulation and on
virtual boards -- and the time to train them.

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_frr.py [--seeds 10] [--n-test 100] [--skip-train]
        [--skip-board] [--temperature K] [--weights PATH] [--ref-w-in PATH --ref-w-rec PATH]
        [--out benchmarks/results/frr.json]

Data: the original Rockpool tutorial's, sample for sample: training set ``FrozenNoiseDataset(2, legacy_rng=True)``
(seed 2022), test set ``FrozenNoiseDataset(100, seed=2023, legacy_rng=True)``. FRR of a sample = max/min of the two
neurons' spike counts over 500 ms (infinite when the weaker neuron is silent: counted, and a pass for the training
samples, where the right neuron must also win). Chips: mismatch seeds 0..9 at 5 %.

(a) simulation: the tutorial network (60 -> 2, ``synapse_model="lumped"``, recurrent) on each chip
    (``DynapSim(..., percent_mismatch=0.05, rng_key=c)``). Targets: both training samples' FRR median >= 8 and
    minimum >= 3 over the chips; test FRR median <= 1.2.
(b) board: ``spec = mapper(net.as_graph())`` of the float lumped network, ``cfg = config_from_specification(**spec)``
    (quantizes), for each chip c a ``VirtualBoard(rng_key=c, percent_mismatch=0.05[, temperature])`` -- four synapses,
    negative weights on GABA -- calibrated with ``calibrate_iscale(board, cfg, reference_net=net, inputs=<the two
    training samples>)``, then ``DynapseSamna(board, **calibrated)`` on the 2 training and 100 test samples. Targets:
    training FRR median >= 3 and minimum >= 2, test FRR median <= 1.5; a chip whose calibration fails fails them.
(b') the same, with one more configuration step before calibration: every used core's GABA gain bias
    (``DEGA_IGAIN_P``) times the ``gaba_gain`` the weights were trained for (``tutorial_weights_info()["chip"]``):
    ``board.scale_synapse_gain(config, "gaba", gaba_gain)``; calibration then finds the drive factor itself.

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
import warnings
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np
import jax

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _results import print_checks, save_results

from dynapse_nb.train import (TUTORIAL_CONFIG, frr_report, frr_summary, load_tutorial_weights, tutorial_data,
                              tutorial_network, tutorial_weights_info, train_tutorial_weights, weights_digest)
from dynapse_nb.mapping import mapper
from dynapse_nb.from_spec import config_from_specification
from dynapse_nb.board import VirtualBoard, DynapseSamna, calibrate_iscale, scale_synapse_gain

TARGETS_SIM = dict(train_frr_median_min=8.0, train_frr_min_min=3.0, test_frr_median_max=1.2)
TARGETS_BOARD = dict(train_frr_median_min=3.0, train_frr_min_min=2.0, test_frr_median_max=1.5)
TRAIN_SECONDS_MAX = 300.0


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


def verdict(s: dict | None, targets: dict, n_chips: int) -> dict:
    "Pass/fail of each target from a frr_summary summary (None: no chip produced counts)."
    if s is None: return dict(all_chips_ran=False, train_frr_median=False, train_frr_min=False,
                              train_right_winner=False, test_frr_median=False)
    return dict(all_chips_ran=s["n_seeds"] == n_chips,
                train_frr_median=all(m >= targets["train_frr_median_min"] for m in s["train_frr_median"]),
                train_frr_min=all(m >= targets["train_frr_min_min"] for m in s["train_frr_min"]),
                train_right_winner=all(n == s["n_seeds"] for n in s["train_right_winner"]),
                test_frr_median=s["test_frr_median"] <= targets["test_frr_median_max"])


def board_report(w_in, w_rec, seeds, n_test: int, gaba_gain: float | None, temperature: float | None) -> dict:
    "Protocol (b) (gaba_gain None) or (b') on `seeds` virtual boards; per-chip calibration, counts, summary."
    net = tutorial_network(w_in, w_rec, synapse_model="lumped")          # the float lumped net, no mismatch
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = config_from_specification(**mapper(net.as_graph()))      # quantizes on the way
    if gaba_gain is not None: cfg = dict(cfg, config=scale_synapse_gain(cfg["config"], "gaba", gaba_gain))
    train, test = tutorial_data(n_test)
    x = np.concatenate([train.input_raster, test.input_raster])
    chips, tr, te = [], [], []
    t0 = time.perf_counter()
    for c in seeds:
        board = VirtualBoard(rng_key=c, percent_mismatch=0.05, temperature=temperature)
        try:
            k, cal = calibrate_iscale(board, cfg, reference_net=net, inputs=train.input_raster)
        except ValueError as e:
            chips.append(dict(chip=c, calibrated=False, error=str(e))); continue
        counts = DynapseSamna(board, **cal)(x, record=False)[0].sum(1)    # (2 + n_test, 2)
        tr.append(counts[:2]); te.append(counts[2:])
        chips.append(dict(chip=c, calibrated=True, k=k, train_counts=counts[:2], test_mean_count=float(counts[2:].mean())))
    rep = frr_summary(np.stack(tr), np.stack(te)) if tr else None
    if rep is not None:
        for ch, f, m in zip([c for c in chips if c["calibrated"]], rep["train_frr"], rep["summary"]["test_frr_median_per_seed"]):
            ch.update(train_frr=f, test_frr_median=m)
    return dict(gaba_gain=gaba_gain, temperature=temperature, seconds=time.perf_counter() - t0,
                quantize_warnings=[str(w.message) for w in caught], chips=chips,
                summary=None if rep is None else rep["summary"])


def run_reference(py: str, w_in: str | None, w_rec: str | None, seeds: int, n_test: int) -> dict:
    if not (w_in and w_rec):
        return dict(error="DYNAPSE_NB_REFERENCE_PYTHON is set but --ref-w-in/--ref-w-rec were not given "
                          "(the original Rockpool quick-start tutorial's w_in_optimized.npy and w_rec_optimized.npy)")
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


def print_table(name: str, s: dict | None, targets: dict):
    if s is None:
        print(f"{name:<34} no chip ran (every calibration failed)"); return
    med, mn = s["train_frr_median"], s["train_frr_min"]
    print(f"{name:<34} train FRR median {med[0]:>6.3g} {med[1]:>6.3g} (>= {targets['train_frr_median_min']:g}) | "
          f"min {mn[0]:>6.3g} {mn[1]:>6.3g} (>= {targets['train_frr_min_min']:g}) | right winner "
          f"{s['train_right_winner']}/{s['n_seeds']} | test median {s['test_frr_median']:.3f} "
          f"(<= {targets['test_frr_median_max']:g}; p90 {s['test_frr_p90']:.3f}, mean count {s['test_mean_count']:.1f})")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", help="an .npz saved by save_tutorial_weights (default: the shipped one)")
    ap.add_argument("--seeds", type=int, default=10, help="mismatch seeds (chips) 0 .. seeds-1")
    ap.add_argument("--n-test", type=int, default=100)
    ap.add_argument("--temperature", type=float, help="K, of the virtual boards (default: the nominal 25 mV Ut)")
    ap.add_argument("--skip-train", action="store_true", help="do not time a training from scratch")
    ap.add_argument("--skip-board", action="store_true", help="do not run (b) and (b')")
    ap.add_argument("--ref-w-in"); ap.add_argument("--ref-w-rec")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "frr.json"))
    a = ap.parse_args(argv)

    w_in, w_rec = load_tutorial_weights(a.weights)
    info = tutorial_weights_info(a.weights)
    seeds = list(range(a.seeds))
    t0 = time.perf_counter()
    rep = frr_report(w_in, w_rec, seeds=seeds, n_test=a.n_test, synapse_model="lumped")
    eval_s = time.perf_counter() - t0
    nominal = frr_report(w_in, w_rec, seeds=[0], percent_mismatch=0.0, n_test=a.n_test, synapse_model="lumped")
    chip_sim = frr_report(w_in, w_rec, seeds=seeds, n_test=a.n_test, chip=info["chip"]) if info.get("chip") else None
    res = dict(
        protocol=dict(model="tutorial network 60 -> 2, has_rec; (a) DynapSim synapse_model='lumped'; (b) VirtualBoard "
                            "(four synapses, negative weights on GABA) after calibrate_iscale",
                      percent_mismatch=0.05, mismatch_seeds=seeds, temperature=a.temperature,
                      train="FrozenNoiseDataset(2, legacy_rng=True), seed 2022",
                      test=f"FrozenNoiseDataset({a.n_test}, seed=2023, legacy_rng=True)",
                      frr="max/min spike count of the 2 neurons over 500 ms; inf when the weaker is silent"),
        targets=dict(simulation=TARGETS_SIM, board=TARGETS_BOARD, train_seconds_max=TRAIN_SECONDS_MAX),
        weights=dict(file=str(a.weights or "shipped"), digest=info["digest"], made_with=info["config"],
                     chip=info.get("chip"), stop_reason=info["stop_reason"], best_step=info["best_step"]),
        simulation=dict(summary=rep["summary"], passes=verdict(rep["summary"], TARGETS_SIM, len(seeds)),
                        eval_seconds=eval_s,
                        per_seed=[dict(seed=s, train_counts=rep["train_counts"][i], train_frr=rep["train_frr"][i],
                                       test_frr_median=rep["summary"]["test_frr_median_per_seed"][i],
                                       test_mean_count=float(rep["test_counts"][i].mean()))
                                  for i, s in enumerate(rep["seeds"])]),
        simulation_no_mismatch=nominal["summary"],
        chip_copy_simulation=None if chip_sim is None else dict(
            summary=chip_sim["summary"], passes=verdict(chip_sim["summary"], TARGETS_BOARD, len(seeds))),
        environment=dict(jax=jax.__version__, numpy=np.__version__, python=sys.version.split()[0],
                         cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                         load_average_1min=os.getloadavg()[0] if hasattr(os, "getloadavg") else None),
    )
    print("(a) simulation, lumped synapse model, chips", f"0..{a.seeds - 1}:")
    print_table("  lumped network", rep["summary"], TARGETS_SIM)
    print_table("  lumped network, no mismatch", nominal["summary"], TARGETS_SIM)
    if chip_sim is not None: print_table("  its chip copy (simulator)", chip_sim["summary"], TARGETS_BOARD)
    print_checks({f"(a) {k}": v for k, v in res["simulation"]["passes"].items()})

    if not a.skip_board:
        for key, g in (("board", None), ("board_gaba_gain", (info.get("chip") or {}).get("gaba_gain"))):
            if key == "board_gaba_gain" and g is None: continue
            b = board_report(w_in, w_rec, seeds, a.n_test, g, a.temperature)
            b["passes"] = verdict(b["summary"], TARGETS_BOARD, len(seeds))
            res[key] = b
            label = "(b) board as specified" if g is None else f"(b') board, GABA gain x {g:g}"
            print(f"{label}: {sum(c['calibrated'] for c in b['chips'])}/{len(seeds)} chips calibrated "
                  f"({b['seconds']:.1f} s)")
            errors = {}
            for c in b["chips"]:
                if not c["calibrated"]: errors.setdefault(c["error"], []).append(c["chip"])
            for e, cs in errors.items(): print(f"  calibration failed on chips {cs}: {e}")
            ks = [c["k"] for c in b["chips"] if c["calibrated"]]
            if ks: print(f"  calibrated k {min(ks):.3f} .. {max(ks):.3f}")
            print_table("  board", b["summary"], TARGETS_BOARD)
            print_checks({f"{label.split()[0]} {k}": v for k, v in b["passes"].items()})

    if not a.skip_train:
        t0 = time.perf_counter()
        tr = train_tutorial_weights(TUTORIAL_CONFIG, progress=False)
        secs = time.perf_counter() - t0
        d = weights_digest(tr.params["0_LinearJax"]["weight"], tr.params["1_DynapSim"]["w_rec"])
        res["training"] = dict(seconds=secs, under_5_min=secs < TRAIN_SECONDS_MAX, steps=tr.stop_step,
                               best_step=tr.best_step, stop_reason=tr.stop_reason, chip_scale=tr.chip_scale, digest=d,
                               bit_identical_to_shipped=d == info["digest"],
                               load_average_1min_after=os.getloadavg()[0] if hasattr(os, "getloadavg") else None)
        print(f"training from scratch: {secs:.1f} s, {tr.stop_step} steps ({tr.stop_reason}); "
              f"bit-identical to the shipped weights: {d == info['digest']}")
        print_checks({"training under 5 minutes": secs < TRAIN_SECONDS_MAX})

    py = os.environ.get("DYNAPSE_NB_REFERENCE_PYTHON")
    if py:
        res["reference"] = run_reference(py, a.ref_w_in, a.ref_w_rec, a.seeds, a.n_test)
        s = res["reference"].get("summary")
        if s:
            print(f"{'reference (Rockpool)':<34} train FRR median {s['train_frr_median_over_seeds']} | min "
                  f"{s['train_frr_min_over_seeds']} | test median {s['test_frr_median_median_over_seeds']:.3f}")
        else:
            print("reference:", res["reference"].get("error"))
    save_results(jsonable(res), a.out)
    return res


if __name__ == "__main__":
    main()
