"""Properties of `dynapse_nb.quantize` that need more room than the notebook: quality against the DP bound,
determinism, realizable currents, shared per-core currents, the drop report, the pluggable fit and every error
path. No timing."""
import functools
import warnings

import numpy as np
from dynapse_nb.biasgen import BiasSaturationWarning
import pytest

from dynapse_nb.biasgen import achievable_currents, current_to_code, code_to_current
from dynapse_nb.quantize import (BASE_WEIGHT_BIASES, BASE_WEIGHT_NAMES, DroppedWeightWarning, _kmeans_1d,
                                 dequantize, fit_base_weights, fit_binary_grid, mask_levels, nearest_masks,
                                 optimal_levels_nmse, quantize)

ISCALE = 1e-8


def sparse_normal(seed, shape, sigma=5.0, density=0.5):
    rng = np.random.default_rng(seed)
    return rng.normal(0, sigma, shape) * (rng.random(shape) < density)


def quiet_quantize(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedWeightWarning)
        return quantize(**kw)


def iw(q, c=0):
    return np.array([q[n][c] for n in BASE_WEIGHT_NAMES])


@pytest.fixture(scope="module")
def big():
    w = sparse_normal(7, (160, 160))
    return w, quiet_quantize(weights_rec=w, core_map=np.zeros(160, int), n_cluster=1, Iscale=ISCALE)


def test_quality_against_dp_bound(big):
    w, q = big
    bound, bound0 = optimal_levels_nmse(w), optimal_levels_nmse(w, include_zero=True)
    assert bound < bound0 < q["quantization_nmse"]                 # bounds are bounds
    assert q["quantization_nmse"] <= 1.7 * bound                    # Gaussian weights: ~1.5-1.6 is structural
    assert q["quantization_nmse"] <= 1.6 * bound0
    # at least as good as the plain binary grid 2^b * max/15 rounded to realizable currents
    grid = [achievable_currents(n) / ISCALE for n in BASE_WEIGHT_BIASES]
    naive = [g[np.argmin(np.abs(g - 2 ** b * np.abs(w).max() / 15))] for b, g in enumerate(grid)]
    lv = mask_levels(naive)
    v = np.abs(w[w != 0])
    naive_nmse = np.sum((v - lv[nearest_masks(v, naive)]) ** 2) / np.sum(v * v)
    assert q["quantization_nmse"] <= naive_nmse
    assert q["quantization_nmse"] < 0.005                          # reference autoencoder: 0.05-0.09


def test_reconstruction_matches_reported_loss(big):
    w, q = big
    w_hat = dequantize(**q, core_map=np.zeros(160, int), Iscale=ISCALE)[1]
    np.testing.assert_allclose(np.sum((w_hat - w) ** 2) / np.sum(w ** 2), q["quantization_nmse"], rtol=1e-9)
    np.testing.assert_allclose(q["quantization_loss"], [q["quantization_nmse"]])
    assert np.all(np.sign(w_hat) * np.sign(w) >= 0)                # never a flipped sign


def test_currents_exactly_realizable(big):
    _, q = big
    for b, name in enumerate(BASE_WEIGHT_BIASES):
        for I in q[f"Iw_{b}"]:
            assert I in achievable_currents(name)
            assert code_to_current(name, *current_to_code(name, I)) == I   # the config writer gets I back


def test_deterministic_and_no_global_rng():
    w = sparse_normal(3, (50, 40))
    state = np.random.get_state()
    a = quiet_quantize(weights_in=w, core_map=np.arange(40) % 3, n_cluster=3, Iscale=ISCALE, n_init=12, rng_key=5)
    b = quiet_quantize(weights_in=w, core_map=np.arange(40) % 3, n_cluster=3, Iscale=ISCALE, n_init=12, rng_key=5)
    assert np.random.get_state()[1].tolist() == state[1].tolist()
    for k in a:
        if isinstance(a[k], np.ndarray): np.testing.assert_array_equal(a[k], b[k])
        else: assert a[k] == b[k]


def test_cores_share_currents_between_input_and_recurrent():
    rng = np.random.default_rng(0)
    cm = np.array([0, 0, 1, 1, 1, 3])                               # core 2 has no neuron
    w_in, w_rec = rng.normal(0, 3, (10, 6)), rng.normal(0, 1, (6, 6))
    w_rec[:, 5] = 0                                                # core 3: neuron without any weight
    q = quiet_quantize(weights_in=w_in, weights_rec=w_rec, core_map=cm, n_cluster=4, Iscale=ISCALE, Idc=[1, 2])
    hat_in, hat_rec = dequantize(**q, core_map=cm, Iscale=ISCALE)
    for c in (0, 1):
        lv = mask_levels(iw(q, c) / ISCALE)
        cols = cm == c
        for hat in (hat_in, hat_rec):                               # every weight sits on one of the core's levels
            assert np.abs(np.abs(hat[:, cols]).ravel()[:, None] - lv).min(axis=1).max() < 1e-12
    floor = achievable_currents(BASE_WEIGHT_BIASES[0])[0]
    np.testing.assert_array_equal(iw(q, 2), floor)                 # empty core: generator floor, loss 0
    assert q["quantization_loss"][2] == 0.0 and q["quantization_report"][2]["n_weights"] == 0
    assert q["quantization_report"][3]["n_weights"] == 10          # only its input weights
    # the per-core loss is over that core's columns
    for c in (0, 1, 3):
        cols = cm == c
        err = np.sum((hat_in - w_in)[:, cols] ** 2) + np.sum((hat_rec - w_rec)[:, cols] ** 2)
        np.testing.assert_allclose(err / (np.sum(w_in[:, cols] ** 2) + np.sum(w_rec[:, cols] ** 2)),
                                   q["quantization_loss"][c], rtol=1e-9)


def test_none_and_dtypes():
    w = sparse_normal(1, (8, 4))
    q = quiet_quantize(weights_in=None, weights_rec=w[:4], core_map=[0, 0, 0, 0], n_cluster=1, Iscale=ISCALE)
    assert q["weights_in"] is None and q["sign_in"] is None
    assert q["weights_rec"].dtype == np.uint8 and q["sign_rec"].dtype == np.int8
    assert set(np.unique(q["sign_rec"])) <= {-1, 0, 1}
    assert np.all((q["weights_rec"] == 0) == (q["sign_rec"] == 0))  # sign 0 <=> mask 0 <=> no connection
    assert np.all(q["weights_rec"][w[:4] == 0] == 0)
    q = quantize(core_map=[0, 0], n_cluster=1, Iscale=ISCALE)       # no weights at all
    assert q["weights_in"] is None and q["weights_rec"] is None and q["quantization_nmse"] == 0.0


def test_drop_report_and_warning():
    w = np.linspace(1, 20, 60).reshape(30, 2); w[0, 0] = 0.01; w[3, 1] = -0.02
    with pytest.warns(DroppedWeightWarning, match=r"2 of 60 non-zero weights.*largest dropped \|w\| = 0.02"):
        q = quantize(weights_in=w, core_map=[0, 0], n_cluster=1, Iscale=ISCALE)
    assert q["quantization_report"] == [dict(core=0, n_weights=60, n_dropped=2, max_dropped=0.02)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                               # nothing dropped -> no warning
        q = quantize(weights_in=np.linspace(1, 20, 60).reshape(30, 2), core_map=[0, 0], n_cluster=1, Iscale=ISCALE)
    assert q["quantization_report"][0]["n_dropped"] == 0 and q["quantization_report"][0]["max_dropped"] == 0.0


def test_few_distinct_values_are_exact():
    w = np.array([[1.0, -2.0], [3.0, 0.0], [4.5, -1.0]])
    q = quantize(weights_in=w, core_map=[0, 0], n_cluster=1, Iscale=ISCALE)
    assert q["quantization_nmse"] < 1e-3                           # only the current grid limits it


def test_dp_bound_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = np.sort(np.abs(rng.normal(size=int(rng.integers(5, 30)))))
        k = int(rng.integers(2, 6))
        best = np.inf
        for cuts in __import__("itertools").combinations(range(1, len(x)), k - 1):
            parts = np.split(x, cuts)
            best = min(best, sum(np.sum((p - p.mean()) ** 2) for p in parts))
        np.testing.assert_allclose(_kmeans_1d(x, np.ones(len(x)), k)[0], best, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(optimal_levels_nmse(x, k), best / np.sum(x * x), rtol=1e-9, atol=1e-12)


OK = dict(weights_in=np.ones((3, 2)), weights_rec=np.ones((2, 2)), core_map=[0, 0], n_cluster=1, Iscale=ISCALE)


@pytest.mark.parametrize("change, match", [
    (dict(Iscale=None), "needs Iscale"),
    (dict(Iscale=0.0), "Iscale must be a finite current > 0"),
    (dict(Iscale=float("nan")), "Iscale must be a finite current > 0"),
    (dict(n_bits=8), "only n_bits = 4"),
    (dict(core_map=None), "needs core_map"),
    (dict(core_map=[[0, 0]]), "core_map must be 1-D"),
    (dict(core_map=[0, 1]), r"core_map\[1\] = 1 is outside 0..0"),
    (dict(core_map=[0, -1], n_cluster=2), r"core_map\[1\] = -1 is outside 0..1"),
    (dict(n_cluster=0), "n_cluster must be an integer >= 1"),
    (dict(weights_in=np.ones((3, 5))), r"weights_in has shape \(3, 5\).*N = 2"),
    (dict(weights_rec=np.ones((3, 2))), r"weights_rec has shape \(3, 2\).*\(N, N\) = \(2, 2\)"),
    (dict(weights_in=np.array([[1.0, np.nan], [1, 1], [1, 1]])), r"weights_in contains 1 NaN/inf.*weights_in\[0, 1\]"),
    (dict(weights_rec=np.array([[1.0, 1], [np.inf, 1]])), r"weights_rec\[1, 0\] = inf"),
    (dict(weights_in=np.full((3, 2), 1e3)), r"core 0: .*needs base weight currents up to 5.33e-06 A.*"
                                              r"8.2e-14 .. 4.94e-07 A. Lower Iscale.*raise the synaptic gains"),
    (dict(weights_in=np.full((3, 2), 1e-5), weights_rec=None), r"floor.*Raise Iscale.*lower the synaptic gains"),
    (dict(n_init=0), "n_init must be an integer >= 1"),
    (dict(max_iter=1.5), "max_iter must be an integer >= 1"),
    (dict(weights_in=np.ones((3, 2), np.uint8), sign_in=np.ones((3, 2))), "looks quantized"),
])
def test_errors(change, match):
    with pytest.raises(ValueError, match=match):
        quantize(**{**OK, **change}, strict=True)


@pytest.mark.parametrize("change", [dict(weights_in=np.full((3, 2), 1e3)),
                                    dict(weights_in=np.full((3, 2), 1e-5), weights_rec=None)])
def test_out_of_range_saturates_loudly_without_strict(change):
    with pytest.warns(BiasSaturationWarning, match="core.*bias.*requested.*realized"):
        q = quantize(**{**OK, **change})
    for b in BASE_WEIGHT_NAMES:                                    # every base current is one the chip can make
        assert all(i in achievable_currents(BASE_WEIGHT_BIASES[int(b[-1])]) for i in q[b])


def test_seed_is_rng_key():
    with pytest.warns(FutureWarning, match="rng_key"):
        a = quantize(**OK, seed=3)
    b = quantize(**OK, rng_key=3)
    assert all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in ("weights_in", "Iw_0", "Iw_3"))


def test_range_error_names_the_core():
    w = np.ones((3, 4)); w[:, 3] = 1e3
    with pytest.raises(ValueError, match="core 1: the largest weight"):
        quantize(weights_in=w, core_map=[0, 0, 0, 1], n_cluster=2, Iscale=ISCALE, strict=True)


def test_dequantize_errors():
    q = quantize(**OK)
    base = dict(**{n: q[n] for n in BASE_WEIGHT_NAMES}, core_map=[0, 0], Iscale=ISCALE)
    with pytest.raises(ValueError, match="both be given"):
        dequantize(weights_in=q["weights_in"], **base)
    with pytest.raises(ValueError, match="masks must be integers in 0..15"):
        dequantize(weights_in=q["weights_in"] + 16, sign_in=q["sign_in"], **base)
    with pytest.raises(ValueError, match="signs must be -1, 0 or \\+1"):
        dequantize(weights_in=q["weights_in"], sign_in=q["sign_in"] * 2, **base)
    with pytest.raises(ValueError, match="Iw_0 must list"):
        dequantize(weights_in=q["weights_in"], sign_in=q["sign_in"], **{**base, "Iw_0": []})
    with pytest.raises(ValueError, match="Iscale"):
        dequantize(weights_in=q["weights_in"], sign_in=q["sign_in"], **{**base, "Iscale": None})


# --- the pluggable fit: quantize(..., fit=f) with f(values, lo, hi) -> 4 base weights (weight units) ---

def same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray): np.testing.assert_array_equal(a[k], b[k])
        else: assert a[k] == b[k], k


def test_default_fit_is_fit_base_weights_and_options_bind_by_partial():
    w = sparse_normal(3, (50, 40))
    kw = dict(weights_in=w, core_map=np.arange(40) % 3, n_cluster=3, Iscale=ISCALE)
    same(quiet_quantize(**kw), quiet_quantize(**kw, fit=fit_base_weights))
    same(quiet_quantize(**kw, n_init=12, rng_key=5),
         quiet_quantize(**kw, fit=functools.partial(fit_base_weights, n_init=12, rng_key=5)))


def test_fit_gets_the_documented_arguments():
    rng = np.random.default_rng(2)
    w_in, w_rec = rng.normal(0, 3, (10, 4)) * (rng.random((10, 4)) < 0.6), rng.normal(0, 1, (4, 4))
    cm = np.array([0, 1, 1, 0])
    calls = []
    def spy(values, lo, hi):
        calls.append((values.copy(), lo.copy(), hi.copy()))
        return fit_binary_grid(values, lo, hi)
    quiet_quantize(weights_in=w_in, weights_rec=w_rec, core_map=cm, n_cluster=2, Iscale=ISCALE, fit=spy)
    assert len(calls) == 2                                           # one call per core with weights
    for c, (values, lo, hi) in enumerate(calls):
        cols = cm == c
        expect = np.abs(np.concatenate([w_in[:, cols].ravel(), w_rec[:, cols].ravel()]))
        np.testing.assert_array_equal(values, expect[expect > 0])     # non-zero magnitudes, weight units
        assert values.dtype == np.float64 and values.ndim == 1
        for bound, i in ((lo, 0), (hi, -1)):
            assert bound.shape == (4,)
            np.testing.assert_array_equal(bound * ISCALE, [achievable_currents(n)[i] for n in BASE_WEIGHT_BIASES])


def test_fit_cannot_change_quantize_data():
    w = sparse_normal(4, (30, 5))
    kw = dict(weights_in=w, core_map=np.zeros(5, int), n_cluster=1, Iscale=ISCALE)
    def vandal(values, lo, hi):
        a = fit_binary_grid(values, lo, hi)
        values[:] = 0; lo[:] = 0; hi[:] = 0
        return a
    same(quiet_quantize(**kw, fit=vandal), quiet_quantize(**kw, fit=fit_binary_grid))
    assert np.array_equal(w, sparse_normal(4, (30, 5)))


def test_binary_grid_fit(big):
    w, q = big
    qb = quiet_quantize(weights_rec=w, core_map=np.zeros(160, int), n_cluster=1, Iscale=ISCALE, fit=fit_binary_grid)
    assert q["quantization_nmse"] <= qb["quantization_nmse"] <= 1.7 * optimal_levels_nmse(w)
    for b, name in enumerate(BASE_WEIGHT_BIASES):
        assert qb[f"Iw_{b}"][0] in achievable_currents(name)
    w_hat = dequantize(**qb, core_map=np.zeros(160, int), Iscale=ISCALE)[1]
    np.testing.assert_allclose(np.sum((w_hat - w) ** 2) / np.sum(w ** 2), qb["quantization_nmse"], rtol=1e-9)


def const(x):
    "A fit that returns `x` whatever it is given."
    def fit(values, lo, hi): return x
    return fit


@pytest.mark.parametrize("fit, exc, match", [
    (3, TypeError, r"fit must be a callable fit\(values, lo, hi\).*got 3"),
    ("fit_base_weights", TypeError, "fit must be a callable"),
    (const([1.0, 2.0, 4.0]), ValueError, r"fit 'fit' returned shape \(3,\) for core 0.*shape \(4,\)"),
    (const(np.ones((1, 4))), ValueError, r"returned shape \(1, 4\)"),
    (const(1.0), ValueError, r"returned shape \(\)"),
    (const(None), ValueError, r"returned shape \(\)"),
    (const(("a", "b", "c", "d")), TypeError, r"fit 'fit' returned tuple .* as numbers"),
    (const([1.0, -2.0, 4.0, 8.0]), ValueError, r"negative base weight for core 0: Iw_1 = -2.0"),
    (const([1.0, 2.0, np.nan, 8.0]), ValueError, r"NaN/inf base weight for core 0: Iw_2 = nan"),
    (const([1.0, 2.0, 4.0, np.inf]), ValueError, r"NaN/inf base weight for core 0: Iw_3 = inf"),
    (const([1.0, 2.0, 4.0, 1e3]), ValueError, r"Iw_3 = 1000 for core 0, outside the realizable range \[.*, 49\.3"),
    (const([0.0, 2.0, 4.0, 8.0]), ValueError, r"Iw_0 = 0 for core 0, outside the realizable range"),
    (lambda values, lo, hi: hi[:2], ValueError, r"fit '<lambda>' returned shape \(2,\)"),
    (functools.partial(lambda values, lo, hi, k: k * hi, k=-1), ValueError, "fit '<lambda>' returned a negative"),
])
def test_bad_fit(fit, exc, match):
    with pytest.raises(exc, match=match):
        quantize(**{**OK, "weights_in": np.linspace(1, 6, 6).reshape(3, 2)}, fit=fit)


def test_bad_fit_names_the_core():
    w = np.ones((3, 4)); w[:, 3] = 2.0
    with pytest.raises(ValueError, match="for core 1"):
        quantize(weights_in=w, core_map=[0, 0, 0, 1], n_cluster=2, Iscale=ISCALE,
                 fit=lambda v, lo, hi: np.full(4, np.nan) if v.max() > 1.5 else fit_binary_grid(v, lo, hi))


def test_fit_errors_propagate_unchanged():
    def broken(values, lo, hi): raise RuntimeError("autoencoder diverged")
    with pytest.raises(RuntimeError, match="autoencoder diverged"):
        quantize(**OK, fit=broken)


@pytest.mark.parametrize("change", [dict(n_init=12), dict(max_iter=5), dict(rng_key=1)])
def test_default_fit_options_refused_with_another_fit(change):
    with pytest.raises(ValueError, match=rf"{next(iter(change))}=.*configure the default fit.*fit='fit_binary_grid'"):
        quantize(**OK, **change, fit=fit_binary_grid)
    quantize(**OK, **{k: v for k, v in (("n_init", 8), ("max_iter", 100), ("rng_key", 0))}, fit=fit_binary_grid)


def test_no_fit_call_for_an_empty_core():
    def never(values, lo, hi): raise AssertionError("fit called without weights")
    q = quantize(weights_in=np.zeros((3, 2)), core_map=[0, 0], n_cluster=1, Iscale=ISCALE, fit=never)
    assert q["quantization_nmse"] == 0.0
