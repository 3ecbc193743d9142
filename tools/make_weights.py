"""Regenerate the shipped tutorial weights (dynapse_nb/data/tutorial_weights.npz) from their seed: `make weights`.

    .venv/bin/python tools/make_weights.py [--out PATH] [--check]

Runs `train_tutorial_weights(TUTORIAL_CONFIG)`: the tutorial network (lumped synapse model) trained on the
tutorial's two samples together with its chip copy (four synapses, GABA gain `TUTORIAL_CONFIG.chip_gaba_gain`,
learned weight scale). Every random draw comes from TUTORIAL_CONFIG.seed, so on the same JAX version and CPU the
result is bit-identical (the printed SHA-256 digest says so). `--check` trains and compares with the existing file
without writing it. The firing-rate ratios printed after training are those of the simulation on the benchmark
chips 0..9; `benchmarks/bench_frr.py` also measures them on virtual boards.
"""
import argparse, os, sys, tempfile, time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from dynapse_nb.train import (TUTORIAL_CONFIG, TUTORIAL_WEIGHTS, frr_report, save_tutorial_weights,
                              train_tutorial_weights, tutorial_weights_info, weights_digest)


def show(name: str, s: dict):
    print(f"{name}: train FRR median {s['train_frr_median']}, min {s['train_frr_min']}, right winner "
          f"{s['train_right_winner']}/{s['n_seeds']}; test median {s['test_frr_median']:.3f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(TUTORIAL_WEIGHTS), help="where to write the .npz (default: package data)")
    ap.add_argument("--check", action="store_true", help="compare with the existing file instead of writing")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = train_tutorial_weights(TUTORIAL_CONFIG, progress=not a.quiet)
    w_in, w_rec = res.params["0_LinearJax"]["weight"], res.params["1_DynapSim"]["w_rec"]
    digest = weights_digest(w_in, w_rec)
    print(f"trained in {time.perf_counter() - t0:.1f} s: {res.stop_step} steps, best step {res.best_step} "
          f"({res.stop_reason}); chip copy's weight scale {res.chip_scale:.3f}; digest {digest}")
    with tempfile.TemporaryDirectory() as tmp:
        p = save_tutorial_weights(res, Path(tmp) / "w.npz")
        new, chip = p.read_bytes(), tutorial_weights_info(p)["chip"]
    show("lumped simulation, chips 0..9", frr_report(w_in, w_rec)["summary"])
    show(f"chip copy {chip}", frr_report(w_in, w_rec, chip=chip)["summary"])
    if a.check:
        same = Path(a.out).exists() and Path(a.out).read_bytes() == new
        print(f"weights digest equal: {Path(a.out).exists() and tutorial_weights_info(a.out)['digest'] == digest}; "
              f"file {a.out} byte-identical: {same}")
        return 0 if same else 1
    print("wrote", save_tutorial_weights(res, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
