"""Exhaustive and property tests of `dynapse_nb.biasgen` (the notebook holds the examples)."""
import warnings

import numpy as np
import pytest

from dynapse_nb.biasgen import (BiasCode, BiasSaturationWarning, achievable_currents, bias_range, biases_to_currents,
                                code_to_current, current_to_code, currents_to_biases, nearest_achievable, translate)
from dynapse_nb.chip import (BIASES, BIAS_TO_CURRENT, BIAS_TYPES, CAPACITANCES as C, CURRENT_TO_BIAS, IO, N_COARSE,
                             N_FINE, UT, VTH, bias_table, kappa)

TABLE_NAMES = sorted(n for n, b in BIASES.items() if b.type)
NO_TABLE = sorted(n for n, b in BIASES.items() if not b.type)
COARSE, FINE = (a.ravel() for a in np.meshgrid(np.arange(N_COARSE), np.arange(N_FINE), indexing="ij"))


def scan(name, x):
    "Exhaustive reference: nearest scaled table entry, ties to the lowest (coarse, fine) in flat order."
    b = BIASES[name]
    t = bias_table()[BIAS_TYPES.index(b.type)] * b.scale
    return divmod(int(np.argmin(np.abs(t - x))), N_FINE)


@pytest.mark.parametrize("t", BIAS_TYPES)
def test_every_code_round_trips_for_each_type(t):
    "All 1536 codes of each type (3072 in all) go code -> current -> the same code; checked for every name."
    names = [n for n in TABLE_NAMES if BIASES[n].type == t]
    assert names
    for name in names:
        cur = code_to_current(name, COARSE, FINE)
        assert cur.shape == (N_COARSE * N_FINE,)
        c, f = current_to_code(name, cur)
        np.testing.assert_array_equal(c, COARSE)
        np.testing.assert_array_equal(f, FINE)
        np.testing.assert_array_equal(nearest_achievable(name, cur), cur)


@pytest.mark.parametrize("name", ["SOIF_LEAK_N", "SYAM_W0_P", "SOIF_DC_P", "SYSA_VRES_N"])
def test_search_equals_exhaustive_scan(name):
    rng = np.random.default_rng(1)
    cur = achievable_currents(name)
    lo, hi = bias_range(name)
    xs = np.r_[np.exp(rng.uniform(np.log(lo), np.log(hi), 2000)), (cur[:-1] + cur[1:]) / 2,
               np.nextafter(cur, 0)[1:], np.nextafter(cur, 1)[:-1]]
    c, f = current_to_code(name, xs)
    assert list(zip(c.tolist(), f.tolist())) == [scan(name, x) for x in xs]


def test_tie_goes_to_lowest_code():
    "A target exactly midway between two achievable currents (in float arithmetic) takes the lower code."
    name = "SOIF_LEAK_N"
    cur = achievable_currents(name)
    t = bias_table()[0] * BIASES[name].scale
    n_ties = 0
    for a, b in zip(cur[:-1], cur[1:]):
        m = (a + b) / 2
        if abs(m - a) != abs(b - m): continue
        n_ties += 1
        ca, cb = np.argwhere(t == a)[0], np.argwhere(t == b)[0]
        assert current_to_code(name, m) == tuple(int(v) for v in min(tuple(ca), tuple(cb)))
    assert n_ties > 100


def test_translation_quality():
    "1000 log-spaced targets per bias: mean/max relative error (the facts' criterion, above the floor code)."
    for name in TABLE_NAMES:
        cur, (lo, hi) = achievable_currents(name), bias_range(name)
        half_gap = np.max((cur[1:] - cur[:-1]) / (cur[1:] + cur[:-1]))
        e = np.abs(translate(name, np.geomspace(lo, hi, 1000)).rel_error)
        assert e.mean() < 0.011 and e.max() <= half_gap + 1e-12      # whole range: 0.95-1.04 %, 14.8/17.1 %
        e = np.abs(translate(name, np.geomspace(cur[1], hi, 1000)).rel_error)
        assert e.mean() < 0.01 and e.max() < 0.15                     # above (0, 0): 0.83-0.87 %, 12.0-14.1 %


def _defaults():
    tau = {k: UT / kappa() * C[f"C_{k}"] / t for k, t in
           dict(ahp=50e-3, mem=20e-3, ampa=10e-3, gaba=10e-3, nmda=10e-3, shunt=10e-3).items()}
    return dict(Idc=IO, If_nmda=IO, Iw_ahp=IO, Ispkthr=1e-7, Iw_0=1e-9, Iw_1=2e-9, Iw_2=4e-9, Iw_3=8e-9,
                Ipulse_ahp=VTH * C["C_pulse_ahp"] / 1e-6, Ipulse=VTH * C["C_pulse"] / 10e-6,
                Iref=VTH * C["C_ref"] / 1e-3, Igain_ahp=tau["ahp"], Igain_mem=4 * tau["mem"],
                **{f"Itau_{k}": v for k, v in tau.items()},
                **{f"Igain_{k}": 100 * tau[k] for k in ("ampa", "gaba", "nmda", "shunt")})


TABLE_3_3 = [  # facts 3.3: sim current, chip bias, printed default I, (c, f), printed back-translated I
    ("Idc", "SOIF_DC_P", 5.00e-13, (0, 4), 4.66e-13), ("If_nmda", "DENM_NMREV_N", 5.00e-13, (0, 0), 5.18e-13),
    ("Igain_ahp", "SOAD_GAIN_P", 2.84e-11, (0, 161), 2.85e-11),
    ("Igain_ampa", "DEAM_EGAIN_P", 8.69e-09, (3, 92), 8.68e-09),
    ("Igain_gaba", "DEGA_IGAIN_P", 8.87e-09, (3, 94), 8.89e-09),
    ("Igain_nmda", "DENM_EGAIN_P", 8.87e-09, (3, 94), 8.89e-09),
    ("Igain_shunt", "DESC_IGAIN_P", 8.69e-09, (3, 92), 8.68e-09),
    ("Igain_mem", "SOIF_GAIN_N", 2.13e-11, (0, 71), 2.12e-11),
    ("Ipulse_ahp", "SOAD_PWTAU_N", 3.50e-07, (5, 42), 3.51e-07), ("Ipulse", "SYPD_EXT_N", 3.50e-08, (4, 32), 3.47e-08),
    ("Iref", "SOIF_REFR_N", 1.05e-09, (2, 53), 1.04e-09), ("Ispkthr", "SOIF_SPKTHR_P", 1.00e-07, (4, 243), 9.98e-08),
    ("Itau_ahp", "SOAD_TAU_P", 2.84e-11, (1, 67), 2.83e-11), ("Itau_ampa", "DEAM_ETAU_P", 8.69e-11, (1, 208), 8.67e-11),
    ("Itau_gaba", "DEGA_ITAU_P", 8.87e-11, (1, 212), 8.86e-11),
    ("Itau_nmda", "DENM_ETAU_P", 8.87e-11, (1, 212), 8.86e-11),
    ("Itau_shunt", "DESC_ITAU_P", 8.69e-11, (1, 208), 8.67e-11),
    ("Itau_mem", "SOIF_LEAK_N", 5.32e-12, (0, 29), 5.27e-12), ("Iw_0", "SYAM_W0_P", 1.00e-09, (3, 31), 1.00e-09),
    ("Iw_1", "SYAM_W1_P", 2.00e-09, (3, 67), 2.01e-09), ("Iw_2", "SYAM_W2_P", 4.00e-09, (3, 138), 4.01e-09),
    ("Iw_3", "SYAM_W3_P", 8.00e-09, (4, 31), 8.12e-09), ("Iw_ahp", "SOAD_W_N", 5.00e-13, (0, 0), 4.54e-13)]


@pytest.mark.parametrize("row", TABLE_3_3, ids=[r[0] for r in TABLE_3_3])
def test_facts_table_3_3(row):
    cur_name, name, printed, cf, back = row
    assert CURRENT_TO_BIAS[cur_name] == name
    for i in (_defaults()[cur_name], printed, float(np.float32(_defaults()[cur_name]))):
        assert float(f"{i:.2e}") == printed
        saturates = i < bias_range(name)[0]
        assert saturates == (cur_name == "If_nmda")          # Io = 0.5 pA is below DENM_NMREV_N's 0.518 pA floor
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            r = translate(name, i, saturate=saturates)
        assert len(w) == int(saturates)
        assert (r.coarse, r.fine) == cf
        assert float(f"{r.current:.2e}") == back


def test_all_23_rows_covered():
    assert sorted(r[0] for r in TABLE_3_3) == sorted(CURRENT_TO_BIAS)


def test_vector_equals_scalar_and_shapes():
    name = "DEAM_ETAU_P"
    x = np.geomspace(*bias_range(name), 60).reshape(3, 4, 5)
    r = translate(name, x)
    assert isinstance(r, BiasCode)
    for a in r: assert a.shape == x.shape
    assert r.coarse.dtype.kind == "i" and r.fine.dtype.kind == "i"
    for idx in np.ndindex(x.shape):
        s = translate(name, float(x[idx]))
        assert type(s.coarse) is int and type(s.fine) is int and type(s.current) is float
        assert (s.coarse, s.fine, s.current, s.rel_error) == (r.coarse[idx], r.fine[idx], r.current[idx],
                                                              r.rel_error[idx])
        assert current_to_code(name, x[idx]) == (s.coarse, s.fine)       # 0-d array counts as a scalar
    c, f = current_to_code(name, np.array([], dtype=float))
    assert c.shape == (0,) and f.shape == (0,)
    assert current_to_code(name, np.float32(1e-10)) == current_to_code(name, float(np.float32(1e-10)))


def test_code_to_current_scalar_and_broadcast():
    assert code_to_current("SOIF_LEAK_N", 0, 29) == bias_table()[0, 0, 29] * 0.61
    assert type(code_to_current("SOIF_LEAK_N", np.int64(0), np.uint8(29))) is float
    assert code_to_current("SOIF_LEAK_N", [[0], [5]], np.arange(4)).shape == (2, 4)


def test_achievable_and_range():
    for name in TABLE_NAMES:
        cur = achievable_currents(name)
        assert cur.shape == (N_COARSE * N_FINE,) and np.all(np.diff(cur) > 0) and not cur.flags.writeable
        assert bias_range(name) == (code_to_current(name, 0, 0), code_to_current(name, 5, 255))
    with pytest.raises(ValueError): achievable_currents("SOIF_LEAK_N")[0] = 1.0


@pytest.mark.parametrize("fn", [lambda n: code_to_current(n, 0, 0), lambda n: current_to_code(n, 1e-9),
                                lambda n: translate(n, 1e-9), bias_range, achievable_currents,
                                lambda n: nearest_achievable(n, 1e-9)])
def test_name_errors(fn):
    with pytest.raises(KeyError, match="did you mean 'SOIF_LEAK_N'|SOIF_LEAK_N"): fn("SOIF_LEAK")
    for n in NO_TABLE:
        with pytest.raises(ValueError, match=f"{n}.*no bias-generator table"): fn(n)


def test_current_errors():
    name = "SYAM_W0_P"
    lo, hi = bias_range(name)
    for bad, msg in [(np.nan, "finite"), (-np.inf, "finite"), (np.inf, "finite"), (-1e-12, "-1e-12"),
                     ([1e-9, np.nan, np.nan], r"2 of 3")]:
        for sat in (False, True):
            with pytest.raises(ValueError, match=msg): current_to_code(name, bad, saturate=sat)
            with pytest.raises(ValueError, match=msg): translate(name, bad, saturate=sat)
            with pytest.raises(ValueError, match=msg): nearest_achievable(name, bad, saturate=sat)
    for bad in (0.0, lo * 0.999, hi * 1.001, [1e-9, 1.0]):
        with pytest.raises(ValueError, match=r"SYAM_W0_P.*outside its achievable range.*saturate=True"):
            current_to_code(name, bad)
    with pytest.raises(TypeError, match="must be a number"): current_to_code(name, "1e-9")
    for bad in ({"a": 1}, [1e-9, "x"], [[1e-9], [1e-9, 2e-9]], True, None, 1e-9j):
        with pytest.raises(TypeError, match="must be a number"): current_to_code(name, bad)
    for c, f in [(6, 0), (-1, 0), (0, 256), (0, -1)]:
        with pytest.raises(ValueError, match=r"out of range 0\.\.(5|255)"): code_to_current(name, c, f)
    for c, f in [(1.0, 0), (0, 2.5), (True, 3), (0, "3")]:
        with pytest.raises(TypeError, match="must be an integer"): code_to_current(name, c, f)


def test_saturate_warns_and_maps_to_ends():
    name = "SOIF_LEAK_N"
    lo, hi = bias_range(name)
    x = np.array([0.0, lo / 2, lo, 1e-9, hi, hi * 2, 1.0])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        c, f = current_to_code(name, x, saturate=True)
    assert len(w) == 1 and issubclass(w[0].category, BiasSaturationWarning)
    assert "4 of 7" in str(w[0].message) and name in str(w[0].message)
    assert w[0].filename == __file__                                      # attributed to the caller
    assert list(zip(c.tolist(), f.tolist())) == [(0, 0)] * 3 + [current_to_code(name, 1e-9)] + [(5, 255)] * 3
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = translate(name, x, saturate=True)
        nearest_achievable(name, x, saturate=True)
        current_to_code(name, x[2:5], saturate=True)                     # all inside: no warning
    assert len(w) == 2 and all(x.filename == __file__ for x in w)
    assert r.rel_error[0] == np.inf and r.current[0] == lo and r.current[-1] == hi
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        current_to_code(name, [lo, hi], saturate=True)


def test_dict_translations():
    d = _defaults()
    with pytest.warns(BiasSaturationWarning, match="DENM_NMREV_N"):
        codes = currents_to_biases(d, saturate=True)
    assert set(codes) == set(BIAS_TO_CURRENT) and len(codes) == 23
    assert all(type(c) is int and type(f) is int for c, f in codes.values())
    back = biases_to_currents(codes)
    assert set(back) == set(d)
    with pytest.warns(BiasSaturationWarning):
        for k, v in back.items(): assert v == nearest_achievable(CURRENT_TO_BIAS[k], d[k], saturate=True)
    assert currents_to_biases({}) == {} and biases_to_currents({}) == {}
    with pytest.raises(KeyError, match="'Itau_syn', 'Igain_syn'"):
        currents_to_biases({"Itau_mem": 5e-12, "Itau_syn": 1e-11, "Igain_syn": 1e-9})
    with pytest.raises(KeyError, match="'SOIF_LEAK_N'"): currents_to_biases({"SOIF_LEAK_N": 5e-12})
    with pytest.raises(KeyError, match="'NO_SUCH_P'"): biases_to_currents({"NO_SUCH_P": (0, 0)})
    with pytest.raises(KeyError, match="'SOIF_CC_N'"): biases_to_currents({"SOIF_CC_N": (0, 0)})
    with pytest.raises(ValueError, match="saturate=True"): currents_to_biases({"If_nmda": IO})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        currents_to_biases({"If_nmda": IO, "Idc": IO}, saturate=True)
    assert len(w) == 1 and "DENM_NMREV_N" in str(w[0].message) and w[0].filename == __file__
    with pytest.raises(ValueError, match=r"\(coarse, fine\) pair"): biases_to_currents({"SOIF_LEAK_N": (1, 2, 3)})
