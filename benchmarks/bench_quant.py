"""Benchmark: weight quantization with `dynapse_nb.quantize` (and, optionally, the reference side by side).

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_quant.py \\
        [--w-in PATH/w_in_optimized.npy --w-rec PATH/w_rec_optimized.npy] [--out FILE]

Cases:

* ``random_256``: ``np.random.default_rng(0).normal(0, 5, (256, 256))`` with half the entries zeroed
  (``default_rng(1).permutation``, as in ``reference_quant.py``), as the recurrent weights of 256 neurons on one
  core, Iscale 1e-8. Quality against the optimal 16-free-level quantizer (1-D k-means by dynamic programming, a
  lower bound for any 4-bit scheme) and against the 0 + 15 free levels bound (the chip always has level 0).
  The same matrix with ``fit=fit_binary_grid`` (``Iw_b = 2^b * max|w| / 15``, no search) shows what the default
  fit adds: its NMSE alone (continuous base weights, before snapping) and through ``quantize`` (after snapping,
  whose walk over neighbouring realizable currents repairs most of a poor start).
* ``tutorial``: the seed tutorial's trained weights (60 x 2 input, 2 x 2 recurrent; the .npy files are read from
  the paths given, never copied into the repository), one core, Iscale 1e-8. Skipped without ``--w-in/--w-rec``.

Metrics (the same definitions as ``reference_quant.py``): NMSE = mean((W_hat - W)^2) / mean(W^2) over all
entries; fraction of non-zero weights given mask 0; number of distinct quantized magnitudes; wall time (first call
and best of several). When ``DYNAPSE_NB_REFERENCE_PYTHON`` is set, ``benchmarks/reference_quant.py`` runs under
that interpreter (Rockpool's ``autoencoder_quantization``; about a minute) and its numbers are put side by side.
Prints a table; writes ``benchmarks/results/quant.json``.
"""
from __future__ import annotations

import argparse, json, os, platform, subprocess, sys, time, warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import print_checks, save_results  # noqa: E402

import numpy as np

from dynapse_nb.biasgen import achievable_currents
from dynapse_nb.quantize import (BASE_WEIGHT_BIASES, BASE_WEIGHT_NAMES, DroppedWeightWarning, dequantize,
                                 fit_base_weights, fit_binary_grid, mask_levels, nearest_masks,
                                 optimal_levels_nmse, quantize)

HERE = Path(__file__).resolve().parent
ISCALE = 1e-8
TARGETS = dict(random_256_time_s=2.0, random_256_ratio_to_bound=1.5, random_256_fraction_of_reference_nmse=0.1,
               tutorial_time_s=0.05, reference_nmse_documented=(0.05, 0.09))


def metrics(w, w_hat, mask) -> dict:
    nz = w != 0
    return {"shape": list(w.shape), "n_nonzero": int(nz.sum()),
            "nmse": float(np.mean((w_hat - w) ** 2) / np.mean(w ** 2)),
            "mean_abs_err_over_mean_abs_w": float(np.abs(w_hat - w)[nz].mean() / np.abs(w[nz]).mean()),
            "frac_nonzero_mask0": float(np.mean(np.asarray(mask)[nz] == 0)),
            "n_distinct_magnitudes": int(len(np.unique(np.round(np.abs(w_hat[nz]), 9))))}


def timed(repeat: int, **kw):
    "First-call time, best time over `repeat` calls, and the (deterministic) result."
    ts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedWeightWarning)    # drops are in the report and the metrics
        for _ in range(repeat):
            t0 = time.perf_counter(); q = quantize(**kw); ts.append(time.perf_counter() - t0)
    return ts[0], min(ts), q


def fit_alone_nmse(fit, w) -> float:
    "NMSE of rounding the non-zero |w| to the levels of `fit`'s own (continuous, unsnapped) base weights."
    v = np.abs(w[w != 0])
    lo, hi = (np.array([achievable_currents(n)[i] / ISCALE for n in BASE_WEIGHT_BIASES]) for i in (0, -1))
    a = fit(v, lo, hi)
    return float(np.sum((v - mask_levels(a)[nearest_masks(v, a)]) ** 2) / np.sum(v * v))


def fit_comparison(w, cm) -> dict:
    "The default fit against fit_binary_grid on the same matrix: NMSE alone and through quantize."
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedWeightWarning)
        for fit in (fit_base_weights, fit_binary_grid):
            q = quantize(weights_rec=w, core_map=cm, n_cluster=1, Iscale=ISCALE, fit=fit)
            out[fit.__name__] = {"nmse_fit_alone": fit_alone_nmse(fit, w), "nmse_quantize": q["quantization_nmse"]}
    return out


def random_case(repeat: int) -> dict:
    w = np.random.default_rng(0).normal(0, 5, (256, 256))
    w.flat[np.random.default_rng(1).permutation(w.size)[: w.size // 2]] = 0.0
    cm = np.zeros(256, int)
    first, best, q = timed(repeat, weights_rec=w, core_map=cm, n_cluster=1, Iscale=ISCALE)
    w_hat = dequantize(weights_rec=q["weights_rec"], sign_rec=q["sign_rec"], core_map=cm, Iscale=ISCALE,
                       **{n: q[n] for n in BASE_WEIGHT_NAMES})[1]
    t0 = time.perf_counter(); bound = optimal_levels_nmse(w); t_dp = time.perf_counter() - t0
    bound0 = optimal_levels_nmse(w, include_zero=True)
    m = metrics(w, w_hat, q["weights_rec"])
    return {"first_call_s": first, "best_s": best, "repeats": repeat, "Iw": [q[n][0] for n in BASE_WEIGHT_NAMES],
            **m, "quantization_nmse": q["quantization_nmse"], "bound_16_free_levels": bound,
            "bound_zero_plus_15_free_levels": bound0, "ratio_to_bound": m["nmse"] / bound,
            "ratio_to_zero_bound": m["nmse"] / bound0, "dp_bound_time_s": t_dp, "fits": fit_comparison(w, cm)}


def tutorial_case(w_in, w_rec, repeat: int) -> dict:
    cm = np.zeros(w_rec.shape[0], int)
    first, best, q = timed(repeat, weights_in=w_in, weights_rec=w_rec, core_map=cm, n_cluster=1, Iscale=ISCALE)
    hat_in, hat_rec = dequantize(**q, core_map=cm, Iscale=ISCALE)
    both = np.concatenate([w_in, w_rec]); both_hat = np.concatenate([hat_in, hat_rec])
    m = metrics(both, both_hat, np.concatenate([q["weights_in"], q["weights_rec"]]))
    return {"first_call_s": first, "best_s": best, "repeats": repeat, "Iw": [q[n][0] for n in BASE_WEIGHT_NAMES],
            "all": m, "w_in": metrics(w_in, hat_in, q["weights_in"]), "w_rec": metrics(w_rec, hat_rec, q["weights_rec"]),
            "max_abs_err_in": float(np.abs(hat_in - w_in).max()), "max_abs_err_rec": float(np.abs(hat_rec - w_rec).max()),
            "bound_16_free_levels": optimal_levels_nmse(both), "quantization_report": q["quantization_report"]}


def reference(w_in_path, w_rec_path):
    "Run benchmarks/reference_quant.py under $DYNAPSE_NB_REFERENCE_PYTHON; its JSON object, or None."
    py = os.environ.get("DYNAPSE_NB_REFERENCE_PYTHON")
    if not py: return None
    if not (w_in_path and w_rec_path):
        print("DYNAPSE_NB_REFERENCE_PYTHON is set but --w-in/--w-rec are not: the reference script needs them; skipped")
        return None
    cmd = [py, str(HERE / "reference_quant.py"), "--w-in", str(w_in_path), "--w-rec", str(w_rec_path)]
    print("running the reference (about a minute):", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if r.returncode:
        sys.exit(f"reference_quant.py failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads(r.stdout)


def _mean(xs): return float(np.mean(xs)) if xs else float("nan")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--w-in", help="(60, 2) .npy input weights of the tutorial (w_in_optimized.npy)")
    ap.add_argument("--w-rec", help="(2, 2) .npy recurrent weights of the tutorial (w_rec_optimized.npy)")
    ap.add_argument("--repeat", type=int, default=5, help="calls per case (first and best are reported)")
    ap.add_argument("--out", default=str(HERE / "results" / "quant.json"))
    a = ap.parse_args(argv)

    res = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "loadavg_at_start": list(os.getloadavg()), "targets": TARGETS,
           "nmse_definition": "mean((W_hat - W)^2) / mean(W^2) over all entries (zeros included)"}
    res["random_256"] = random_case(a.repeat)
    if a.w_in and a.w_rec:
        res["tutorial"] = tutorial_case(np.load(a.w_in).astype(np.float64), np.load(a.w_rec).astype(np.float64),
                                        max(a.repeat, 20))
    ref = reference(a.w_in, a.w_rec)
    if ref is not None: res["reference"] = ref

    r = res["random_256"]
    ref_r = [x["nmse"] for x in ref["random_256"]] if ref else []
    ref_rt = [x["wall_s"] for x in ref["random_256"]] if ref else []
    ref_nmse = _mean(ref_r) if ref_r else TARGETS["reference_nmse_documented"][0]
    checks = {"random_256: best time <= 2 s": r["best_s"] <= TARGETS["random_256_time_s"],
              "random_256: NMSE <= 1.5 x 16-free-level bound": r["ratio_to_bound"] <= TARGETS["random_256_ratio_to_bound"],
              f"random_256: NMSE <= reference/10 ({'measured' if ref_r else 'documented lower end'} "
              f"{ref_nmse:.3g})": r["nmse"] <= ref_nmse * TARGETS["random_256_fraction_of_reference_nmse"]}
    rows = [("random 256x256, 1 core", "NMSE", f"{r['nmse']:.5f}", f"{_mean(ref_r):.5f}" if ref_r else "-"),
            ("", "16-free-level bound / 0+15 bound", f"{r['bound_16_free_levels']:.5f} / {r['bound_zero_plus_15_free_levels']:.5f}", ""),
            ("", "ratio to the two bounds", f"{r['ratio_to_bound']:.3f} / {r['ratio_to_zero_bound']:.3f}", ""),
            ("", "non-zero weights given mask 0", f"{r['frac_nonzero_mask0']:.4f}",
             f"{_mean([x['frac_nonzero_mask0'] for x in ref['random_256']]):.4f}" if ref else "-"),
            ("", "distinct magnitudes", f"{r['n_distinct_magnitudes']}",
             f"{_mean([x['n_distinct_magnitudes'] for x in ref['random_256']]):.1f}" if ref else "-"),
            ("", "time first / best (s)", f"{r['first_call_s']:.3f} / {r['best_s']:.3f}",
             f"{_mean(ref_rt):.1f}" if ref_rt else "-")]
    for name, f in r["fits"].items():
        label = {"fit_base_weights": "default fit", "fit_binary_grid": "binary-grid fit"}[name]
        rows.append(("", f"{label}: NMSE alone / snapped", f"{f['nmse_fit_alone']:.5f} / {f['nmse_quantize']:.5f}", ""))
    if "tutorial" in res:
        t = res["tutorial"]; rt = ref["tutorial"] if ref else []
        checks["tutorial: best time <= 50 ms"] = t["best_s"] <= TARGETS["tutorial_time_s"]
        rows += [("tutorial 60x2 + 2x2, 1 core", "NMSE", f"{t['all']['nmse']:.5f}",
                  f"{_mean([x['all']['nmse'] for x in rt]):.5f}" if rt else "-"),
                 ("", "16-free-level bound", f"{t['bound_16_free_levels']:.5f}", ""),
                 ("", "max |err| input / recurrent", f"{t['max_abs_err_in']:.3f} / {t['max_abs_err_rec']:.3f}",
                  f"{_mean([x['max_abs_err_in'] for x in rt]):.3f} / {_mean([x['max_abs_err_rec'] for x in rt]):.3f}"
                  if rt else "-"),
                 ("", "non-zero weights given mask 0", f"{t['all']['frac_nonzero_mask0']:.4f}",
                  f"{_mean([x['all']['frac_nonzero_mask0'] for x in rt]):.4f}" if rt else "-"),
                 ("", "distinct magnitudes", f"{t['all']['n_distinct_magnitudes']}",
                  f"{_mean([x['all']['n_distinct_magnitudes'] for x in rt]):.1f}" if rt else "-"),
                 ("", "time first / best (ms)", f"{t['first_call_s'] * 1e3:.1f} / {t['best_s'] * 1e3:.1f}",
                  f"{_mean([x['wall_s'] for x in rt]) * 1e3:.0f}" if rt else "-")]
    else:
        print("tutorial case skipped (give --w-in and --w-rec)")
    print(f"{'case':28s} {'metric':36s} {'dynapse_nb':>22s} {'reference (mean)':>18s}")
    for row in rows: print(f"{row[0]:28s} {row[1]:36s} {row[2]:>22s} {row[3]:>18s}")
    print_checks(checks)
    res["checks"] = checks
    save_results(res, a.out)
    return res


if __name__ == "__main__":
    main()
