"""DynapSim against an independent transcription of the reference update (tests/dpi_reference.py), and the
properties that cut across the simulator's pieces."""
import numpy as np
import jax
import pytest
from hypothesis import given, settings, strategies as st

from dynapse_nb.dynapsim import DynapSim, simulate, DEFAULTS
from dynapse_nb.nn import LinearJax, Sequential
from dpi_reference import lumped_reference


def _reference_of(m, x):
    p = {k: m.effective(k) for k in m.param_names}
    w = m.w_rec if m.has_rec else np.zeros((m.size_out, m.size_out), np.float32)
    return lumped_reference(x, w, p, m.Iscale, m.dt)


@pytest.mark.parametrize("seed", range(6))
def test_lumped_matches_reference_step_by_step(seed):
    rng = np.random.default_rng(seed)
    n, T = 6, 400
    x = rng.poisson(0.3, (T, n)) * rng.normal(1.5, 1.0, (T, n))          # signed weighted input
    kw = dict(has_rec=True, w_rec=rng.normal(0, 4, (n, n)), synapse_model="lumped", Iscale=2e-8)
    if seed % 2:   # exercise adaptation, DC and mismatch too
        kw.update(Iw_ahp=2e-10, Idc=2e-12, percent_mismatch=0.1, rng_key=seed)
    m = DynapSim(n, **kw)
    out, _, rec = m(x, record=True)
    ref = _reference_of(m, x)
    assert ref["spikes"].sum() > 20
    np.testing.assert_array_equal(np.asarray(out[0]), ref["spikes"])
    for k in ("imem", "isyn", "iahp", "vmem"):
        np.testing.assert_allclose(np.asarray(rec[k][0]), ref[k], rtol=2e-3, atol=1e-15, err_msg=k)


def test_batch_equals_samples_one_by_one():
    rng = np.random.default_rng(0)
    x = rng.poisson(0.05, (5, 300, 20)).astype(np.float32)
    net = Sequential(LinearJax((20, 3), weight=rng.normal(1, 3, (20, 3))),
                     DynapSim(3, has_rec=True, w_rec=rng.normal(0, 2, (3, 3)), percent_mismatch=0.05, rng_key=1))
    batch, _, _ = net(x)
    for b in range(5):
        one, _, _ = net.reset_state()(x[b])
        np.testing.assert_array_equal(np.asarray(one[0]), np.asarray(batch[b]))


def test_fused_linear_equals_weighted_input_lumped():
    """In the lumped model, feeding spikes through the fused LinearJax or feeding the weighted input directly
    gives the same spikes."""
    rng = np.random.default_rng(4)
    w = rng.normal(0.5, 3, (10, 4))
    x = rng.poisson(0.1, (300, 10)).astype(np.float32)
    net = Sequential(LinearJax((10, 4), weight=w), DynapSim(4, synapse_model="lumped", Iscale=2e-8))
    alone = DynapSim(4, synapse_model="lumped", Iscale=2e-8)
    a, _, _ = net(x)
    b, _, _ = alone(x @ w.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert float(a.sum()) > 0


def test_per_synapse_input_and_explicit_types():
    """An explicit synapse type per connection routes the input: NMDA with a high gate threshold is silent,
    AMPA is not; the (B,T,N,4) per-synapse input gives the same result as the fused path."""
    rng = np.random.default_rng(5)
    x = (rng.random((1, 300, 3)) < 0.3).astype(np.float32)
    w = np.full((3, 2), 3.0)
    types = np.array([[0, 1]] * 3)                                      # neuron 0 via AMPA, neuron 1 via NMDA
    dyn = DynapSim(2, Iscale=2e-8, If_nmda=1e-6, synapse_model="four")
    out, _, _ = Sequential(LinearJax((3, 2), weight=w, syn_types=types), dyn)(x)
    counts = np.asarray(out[0]).sum(0)
    assert counts[0] > 5 and counts[1] == 0
    per_syn = np.zeros((1, 300, 2, 4), np.float32)
    per_syn[..., 0, 0] = x @ w[:, 0]
    per_syn[..., 1, 1] = x @ w[:, 1]
    out2, _, _ = DynapSim(2, Iscale=2e-8, If_nmda=1e-6, synapse_model="four")(per_syn)
    np.testing.assert_array_equal(np.asarray(out2), np.asarray(out))


def test_no_retrace_for_same_shapes():
    net = Sequential(LinearJax((7, 3), rng_key=0), DynapSim(3, has_rec=True))
    x = np.zeros((50, 7), np.float32)
    net(x)
    n = simulate._cache_size()
    for _ in range(3):
        net(x)
    net[1].Iscale /= 50                        # changing a parameter's value does not re-trace either
    net(x)
    assert simulate._cache_size() == n


@pytest.mark.parametrize("bad, match", [
    (dict(Itau_syn=-1.0), "Itau_syn must be >= 0"),
    (dict(Itau_ampa=-1.0, synapse_model="four"), "Itau_ampa must be >= 0"),
    (dict(Itau_ampa=1e-11), "synapse_model='lumped' has no"),
    (dict(Ispkthr=0.0), "Ispkthr must be > 0"),
    (dict(Io=1e-50), "underflows float32"),
    (dict(Iref=0.0), "Iref must be > 0"),
    (dict(kappa_n=1.5), "kappa_n is a subthreshold slope"),
    (dict(Ispkthr=np.array([1e-7, np.nan, 1e-7])), "NaN"),
    (dict(percent_mismatch=1.0), r"\[0, 1\)"),
    (dict(percent_mismatch=100), r"\[0, 1\)"),
    (dict(dt=np.inf), "NaN/inf"),
])
def test_bad_parameters(bad, match):
    with pytest.raises(ValueError, match=match):
        DynapSim(3, **bad)


def test_negative_spike_counts_refused():
    net = Sequential(LinearJax((4, 2), rng_key=0), DynapSim(2))
    with pytest.raises(ValueError, match="negative entries"):
        net(-np.ones((10, 4)))


def test_bad_input_shapes():
    m = DynapSim(3)
    with pytest.raises(ValueError, match="expects 3"):
        m(np.zeros((2, 10, 5)))
    with pytest.raises(ValueError, match="empty"):
        m(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="must be >= 0"):
        m(-np.ones((1, 10, 3, 4)))
    _, state, _ = m(np.zeros((2, 10, 3)))
    m(np.zeros((3, 10, 3)))                         # calls are independent: any batch size, any time
    with pytest.raises(ValueError, match="holds a batch of 2"):
        m(np.zeros((3, 10, 3)), state=state)       # ... but a continued stream keeps its batch


def test_calls_are_independent_and_streams_continue_on_request():
    """The same input gives the same output whatever was called before; two half-length calls, the second
    continuing the first's state, equal one full-length call (both synapse models)."""
    rng = np.random.default_rng(7)
    x = rng.poisson(0.1, (3, 400, 6)).astype(np.float32)
    for model in ("lumped", "four"):
        net = Sequential(LinearJax((6, 4), weight=rng.normal(1, 2, (6, 4))),
                         DynapSim(4, has_rec=True, w_rec=rng.normal(0, 2, (4, 4)), Iscale=3e-8, synapse_model=model,
                                  percent_mismatch=0.05, rng_key=2))
        full, _, _ = net(x)
        net(x[:1, :50])                                       # something else in between
        np.testing.assert_array_equal(np.asarray(net(x)[0]), np.asarray(full))
        a, st, _ = net(x[:, :200])
        b, _, _ = net(x[:, 200:], state=st)
        np.testing.assert_array_equal(np.concatenate([a, b], 1), np.asarray(full))
        assert float(full.sum()) > 0


def test_default_model_is_rockpools_lumped_synapse():
    assert DynapSim(2).synapse_model.name == "lumped"
    assert DynapSim(2, synapse_model="four").synapse_model.name == "four"
    with pytest.raises(ValueError, match="did you mean 'four'"):
        DynapSim(2, synapse_model="fuor")


def test_no_call_returns_nan_spike_counts():
    """Values far outside the chip's range that still fit float32 must raise, never give NaN counts."""
    net = Sequential(LinearJax((3, 2), weight=np.full((3, 2), 1e30)), DynapSim(2, Iscale=1e3))
    with pytest.raises(FloatingPointError, match="NaN/inf"):
        net(np.ones((20, 3)))


# --- event-driven products, chosen traces and a stride, the options' errors -------------------------

def _sparse(rng, n_pre, n_post, k, lo, hi):
    w = np.zeros((n_pre, n_post), np.float32)
    for j in range(n_post):
        w[rng.choice(n_pre, k, replace=False), j] = rng.uniform(lo, hi, k)
    return w


@pytest.mark.parametrize("seed", range(3))
def test_event_driven_matches_reference_step_by_step(seed):
    """The event-driven recurrent product sums only the rows of neurons that fired: the summation order differs
    from the dense product, so currents may differ in the last float32 digits; spikes equal the NumPy reference's,
    traces agree within the same tolerance as the dense path (rtol 2e-3)."""
    rng = np.random.default_rng(100 + seed)
    n, T = 40, 300
    x = rng.poisson(0.2, (T, n)) * rng.normal(1.5, 1.0, (T, n))
    m = DynapSim(n, has_rec=True, w_rec=_sparse(rng, n, n, 8, -4, 4), synapse_model="lumped", Iscale=2e-8,
                 percent_mismatch=0.05, rng_key=seed)
    out, _, rec = m(x, record=True, recurrent="event")
    ref = _reference_of(m, x)
    assert ref["spikes"].sum() > 50
    np.testing.assert_array_equal(np.asarray(out[0]), ref["spikes"])
    for k in ("imem", "isyn", "iahp", "vmem"):
        np.testing.assert_allclose(np.asarray(rec[k][0]), ref[k], rtol=2e-3, atol=1e-15, err_msg=k)


@pytest.mark.parametrize("model", ["lumped", "four"])
def test_event_driven_equals_dense(model):
    """The recurrent spikes go through the event-driven product -- steps with few active neurons in each of the
    compiled sizes (640 neurons: 10, 20, 40), and steps with many, which fall back to the dense product -- with the
    same spikes as the dense path; "auto" (here: event-driven) gives them too."""
    rng = np.random.default_rng(5)
    n, T = 640, 200
    net = Sequential(LinearJax((n, n), weight=_sparse(rng, n, n, 12, 0, 1.5)),
                     DynapSim(n, has_rec=True, w_rec=_sparse(rng, n, n, 12, -0.5, 0.5), synapse_model=model))
    x = rng.poisson(np.linspace(0.002, 0.3, T)[None, :, None], (2, T, n)).astype(np.float32)
    dense, _, rd = net(x, recurrent="dense", record=["isyn"])
    event, _, re = net(x, recurrent="event", record=["isyn"])
    assert 50 < float(dense.sum())
    active = (np.asarray(dense) > 0).any(0).sum(1)                  # active neurons per step, over the batch
    assert {0, 1, 2, 3} <= set(np.searchsorted([10, 20, 40], active[active > 0]).tolist())   # every size, and dense
    np.testing.assert_array_equal(np.asarray(event), np.asarray(dense))
    np.testing.assert_allclose(np.asarray(re["1_DynapSim"]["isyn"]), np.asarray(rd["1_DynapSim"]["isyn"]),
                               rtol=1e-4, atol=1e-18)
    np.testing.assert_array_equal(np.asarray(net(x)[0]), np.asarray(dense))


def test_event_driven_gradients_are_finite():
    rng = np.random.default_rng(6)
    net = Sequential(LinearJax((20, 16), weight=rng.normal(1, 2, (20, 16))),
                     DynapSim(16, has_rec=True, w_rec=rng.normal(0, 1, (16, 16)), Iscale=3e-8))
    x = jax.numpy.asarray(rng.poisson(0.1, (2, 100, 20)).astype(np.float32))
    def total(p, mode): return net.apply(p, x, net.initial_state(2), recurrent=mode)[0].sum()
    ge = jax.grad(total)(net.parameters(), "event")
    gd = jax.grad(total)(net.parameters(), "dense")
    for a, b in zip(jax.tree_util.tree_leaves(ge), jax.tree_util.tree_leaves(gd)):
        assert np.isfinite(np.asarray(a)).all()
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("model", ["lumped", "four"])
def test_record_names_and_stride(model):
    """`record=[names]` keeps exactly those traces; `record_every=k` keeps steps 0, k, 2k, ... of each, equal
    to the full record sliced; the output spikes are never strided."""
    rng = np.random.default_rng(8)
    net = Sequential(LinearJax((6, 4), weight=rng.normal(1, 2, (6, 4))),
                     DynapSim(4, has_rec=True, w_rec=rng.normal(0, 2, (4, 4)), Iscale=3e-8, synapse_model=model))
    x = rng.poisson(0.1, (3, 101, 6)).astype(np.float32)
    out, _, full = net(x, record=True)
    full = full["1_DynapSim"]
    assert set(full) == set(("spikes", "vmem", "iahp", "imem") + net[1].synapse_model.traces)
    out2, _, some = net(x, record=["imem", "spikes"])
    test_names = sorted(some["1_DynapSim"])
    assert test_names == ["imem", "spikes"]
    np.testing.assert_array_equal(np.asarray(out2), np.asarray(out))
    for k in (1, 3, 10, 101, 500):
        o, _, r = net(x, record=["imem", "isyn", "spikes"], record_every=k)
        np.testing.assert_array_equal(np.asarray(o), np.asarray(out))
        for name, v in r["1_DynapSim"].items():
            assert v.shape == (3, -(-101 // k), 4)
            np.testing.assert_array_equal(np.asarray(v), np.asarray(full[name])[:, ::k])
    _, _, one = net[1](x[..., :4], record="vmem")
    assert list(one) == ["vmem"]


def test_record_and_option_errors():
    net = Sequential(LinearJax((3, 2), rng_key=0), DynapSim(2, has_rec=True))
    x = np.zeros((10, 3), np.float32)
    with pytest.raises(ValueError, match=r"\['iampa'\] is not a trace of synapse_model='lumped'"):
        net(x, record=["imem", "iampa"])
    with pytest.raises(ValueError, match="record_every must be a whole number of steps >= 1, got 0"):
        net(x, record=True, record_every=0)
    with pytest.raises(ValueError, match="record_every must be a whole number"):
        net(x, record=True, record_every=2.5)
    with pytest.raises(ValueError, match="recurrent='sparse' is not one of"):
        net(x, recurrent="sparse")
    with pytest.raises(TypeError, match="none of its modules is a simulator"):
        Sequential(LinearJax((3, 2), rng_key=0))(x, record_every=2)


def test_bench_gpu_mode_runs_on_the_cpu(tmp_path):
    """`benchmarks/bench_sim.py --device gpu` (no GPU here): refused without one, and its cases run on the CPU
    with --allow-cpu."""
    import subprocess, sys, os, json
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    cmd = [sys.executable, str(root / "benchmarks" / "bench_sim.py"), "--device", "gpu", "--quick", "--rounds", "1",
           "--out", str(tmp_path / "gpu.json")]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode != 0 and "no GPU" in r.stderr
    subprocess.run(cmd + ["--allow-cpu"], check=True, capture_output=True, text=True, env=env)
    res = json.loads((tmp_path / "gpu.json").read_text())
    assert res["platform"] == "cpu" and [c["batch"] for c in res["cases"]] == [4, 40]


def test_compilation_cache_size_limit(tmp_path):
    "The cache folder gets JAX's LRU size limit; a non-positive limit is refused with the way to switch it off."
    import jax
    from dynapse_nb import dynapsim as ds
    before = (jax.config.jax_compilation_cache_dir, jax.config.jax_compilation_cache_max_size,
              jax.config.jax_enable_compilation_cache)
    try:
        assert ds.enable_compilation_cache(tmp_path, max_size_mib=2) == tmp_path
        assert jax.config.jax_compilation_cache_max_size == 2 * 2**20
        for bad in (0, -1, float("nan")):
            with pytest.raises(ValueError, match=r"max_size_mib=.*disable_compilation_cache"):
                ds.enable_compilation_cache(tmp_path, max_size_mib=bad)
    finally:
        if before[0]: ds.enable_compilation_cache(before[0], max_size_mib=before[1] / 2**20 if before[1] > 0 else 1024)
        else: ds.disable_compilation_cache()
        jax.config.update("jax_enable_compilation_cache", before[2])


def test_lumped_refuses_typed_input_connections():
    "A lumped DynapSim has one synapse: per-connection synapse types on its input are refused, not ignored."
    from dynapse_nb.nn import LinearJax, Sequential
    from dynapse_nb.dynapsim import DynapSim
    x = np.zeros((1, 5, 2), np.float32)
    typed = LinearJax((2, 3), weight=np.ones((2, 3), np.float32), syn_types=np.ones((2, 3), int))
    with pytest.raises(ValueError, match=r"syn_types_in.*synapse_model='lumped'.*synapse_model='four'"):
        Sequential(typed, DynapSim(3, synapse_model="lumped"))(x)
    out, _, _ = Sequential(typed, DynapSim(3, synapse_model="four"))(x)      # the typed model takes them
    assert np.asarray(out).shape == (1, 5, 3)


def test_read_biases_is_shared_by_the_built_in_models():
    "Both built-in models read each current from the first chip bias it is written to."
    from dynapse_nb.dynapsim import get_synapse_model
    for name in ("lumped", "four"):
        m = get_synapse_model(name)
        currents = {b: float(i) for i, b in enumerate(sorted({x for bs in m.biases.values() for x in bs}))}
        got = m.read_biases(currents)
        assert set(got) == set(m.biases)
        assert all(got[k] == currents[b[0]] for k, b in m.biases.items())


def test_cache_without_limit_is_adopted(tmp_path):
    "Entries written by JAX's cache without a size limit get an access time, so eviction can handle them."
    import jax
    from dynapse_nb import dynapsim as ds
    (tmp_path / "jit_f-0123-cache").write_bytes(b"x" * 10)
    before = (jax.config.jax_compilation_cache_dir, jax.config.jax_compilation_cache_max_size,
              jax.config.jax_enable_compilation_cache)
    try:
        ds.enable_compilation_cache(tmp_path, max_size_mib=1)
        stamp = (tmp_path / "jit_f-0123-atime").read_bytes()
        assert int.from_bytes(stamp, "little") == (tmp_path / "jit_f-0123-cache").stat().st_mtime_ns
    finally:
        if before[0]: ds.enable_compilation_cache(before[0], max_size_mib=before[1] / 2**20 if before[1] > 0 else 1024)
        else: ds.disable_compilation_cache()
        jax.config.update("jax_enable_compilation_cache", before[2])


def _check_active_indices(a, K, **kw):
    from dynapse_nb.dynapsim import _active_indices
    want = np.flatnonzero(a)[:K]
    got = np.asarray(_active_indices(jax.numpy.asarray(a), K, **kw))
    assert got.shape == (K,) and got.dtype == np.int32
    np.testing.assert_array_equal(got[:len(want)], want)
    assert (got[len(want):] == 0).all()


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sampled_from([1, 31, 32, 33, 65, 300]), st.sampled_from([1, 7, 32, 80, 400]))
def test_active_indices_are_the_first_true_entries(data, P, K):
    """The event-driven product's compaction: the indices of the first K true entries, in order, zeros after --
    any length (also not a multiple of the block size), K above or below the number of true entries and P."""
    _check_active_indices(np.asarray(data.draw(st.lists(st.booleans(), min_size=P, max_size=P))), K)


@pytest.mark.parametrize("P, density, K, block", [(5000, 0.01, 64, 32), (5000, 0.5, 3000, 32), (4097, 0.3, 2000, 32),
                                                  (257, 0.4, 120, 4), (1, 1.0, 1, 32), (1000, 0.0, 16, 32)])
def test_active_indices_many_blocks(P, density, K, block):
    "Thousands of entries (over a hundred blocks), another block size, all or nothing active."
    _check_active_indices(np.random.default_rng(P).random(P) < density, K, block=block)
