"""The sweep layer across processes and devices: bit-identical counts on 1 and 4 (forced host) devices and chunk
sizes, on two processes of two devices joined by jax.distributed, every bad input refused before any computation,
the NaN guard, and the benchmark script's smoke run."""
import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import jax
import pytest

import dynapse_nb.sweep as sw
from dynapse_nb.nn import LinearJax, Sequential
from dynapse_nb.dynapsim import DynapSim
from dynapse_nb.spikes import FrozenNoiseDataset
from dynapse_nb.train import tutorial_network

ROOT = Path(__file__).resolve().parents[1]

# One script, run in fresh processes: three kinds of network (the lumped tutorial network on a grid that varies
# Iscale and the mismatch; a 16-neuron recurrent lumped network with a typed key; a four-synapse DynapSim alone on
# weighted input) at several chunk sizes. It prints one digest per (network, chunk size).
SCRIPT = textwrap.dedent("""
    import hashlib, json, sys
    import numpy as np, jax
    if len(sys.argv) > 2:                                   # process id, processes, coordinator port
        from dynapse_nb.sweep import initialize_hosts
        initialize_hosts(f"localhost:{sys.argv[3]}", int(sys.argv[2]), int(sys.argv[1]))
    from dynapse_nb.nn import LinearJax, Sequential
    from dynapse_nb.dynapsim import DynapSim
    from dynapse_nb.spikes import FrozenNoiseDataset
    from dynapse_nb.train import tutorial_network
    from dynapse_nb.sweep import sweep
    x = FrozenNoiseDataset(6, seed=2023, legacy_rng=False).input_raster[:, :200]
    rng = np.random.default_rng(1)
    big = Sequential(LinearJax((60, 16), weight=rng.normal(0.5, 1.0, (60, 16))),
                     DynapSim((16, 16), has_rec=True, w_rec=rng.normal(0, 2, (16, 16)), synapse_model="lumped"))
    drive = (np.abs(rng.normal(0, 3, (4, 200, 3))) * (rng.random((4, 200, 3)) < 0.1)).astype(np.float32)
    out = {"devices": len(jax.devices()), "processes": jax.process_count()}
    for chunk in [int(c) if c != "None" else None for c in sys.argv[1 if len(sys.argv) == 2 else 4].split(",")]:
        runs = [sweep(tutorial_network(), x, n_chips=11, key=3, chunk_size=chunk, progress=False,
                      grid={"Iscale": [8e-9, 1.2e-8], "percent_mismatch": [0.02, 0.1]}),
                sweep(big, x, n_chips=7, key=jax.random.key(5), chunk_size=chunk, progress=False),
                sweep(DynapSim(3, synapse_model="four"), drive, n_chips=9, chunk_size=chunk, progress=False,
                      grid={"Itau_syn": [5e-11, 1e-10]})]
        out[str(chunk)] = [hashlib.sha256(r.counts.tobytes()).hexdigest() for r in runs]
        out["n_devices_used"] = runs[0].n_devices
    print("RESULT " + json.dumps(out))
""")


def _run(args, devices: int, timeout=600):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _result(p, timeout=600) -> dict:
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err[-3000:]
    return json.loads(next(l for l in out.splitlines() if l.startswith("RESULT "))[7:])


@pytest.fixture(scope="module")
def one_device():
    return _result(_run(["None"], 1))


def test_same_counts_on_one_and_four_devices_and_any_chunk(one_device):
    four = _result(_run(["None,1,5"], 4))
    assert one_device["devices"] == 1 and four["devices"] == 4 and four["n_devices_used"] == 4
    for chunk in ("None", "1", "5"):                    # 4 devices, chunks of 4 x (default, 1, 2) items
        assert four[chunk] == one_device["None"], chunk


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0)); return s.getsockname()[1]


def test_two_processes_of_two_devices_match_one_device(one_device):
    port = _free_port()
    procs = [_run([str(i), "2", str(port), "5"], 2) for i in range(2)]
    results = [_result(p) for p in procs]
    for r in results:
        assert r["devices"] == 4 and r["processes"] == 2 and r["n_devices_used"] == 4
        assert r["5"] == one_device["None"]


# -- bad input: a clear error before any computation ---------------------------------------------------------------
NET = tutorial_network()
NET4 = tutorial_network(synapse_model="four")        # the four-synapse model has its own synapse names
X = FrozenNoiseDataset(3, seed=2023, legacy_rng=False).input_raster[:, :50]

BAD = [
    (dict(n_chips=0), ValueError, "n_chips must be >= 1"),
    (dict(n_chips=-3), ValueError, "n_chips must be >= 1"),
    (dict(n_chips=2.0), TypeError, "did you mean 2?"),
    (dict(n_chips="10"), TypeError, "n_chips must be an integer"),
    (dict(n_chips=np.float32(3)), TypeError, "n_chips must be an integer"),
    (dict(key="0"), TypeError, "key must be an int seed or one JAX key"),
    (dict(key=1.5), TypeError, "key must be an int seed or one JAX key"),
    (dict(key=jax.random.split(jax.random.PRNGKey(0), 4)), TypeError, "not a batch of keys"),
    (dict(seeds=[0, 0]), ValueError, "repeats a seed"),
    (dict(seeds=[0.5]), TypeError, "seeds must be"),
    (dict(seeds=[1], key=1), ValueError, "not both"),
    (dict(grid={"Itau_mme": [5e-12]}), ValueError, "did you mean 'Itau_mem'?"),
    (dict(grid={"Iscal": [1e-8]}), ValueError, "did you mean 'Iscale'?"),
    (dict(grid={"C_mem": [1e-12]}), ValueError, "layout constant"),
    (dict(grid={"Itau_mem": [-5e-12]}), ValueError, "must be > 0"),
    (dict(grid={"Itau_mem": [np.nan]}), ValueError, "must be finite"),
    (dict(grid={"Itau_mem": [5e-12, np.inf]}), ValueError, "must be finite"),
    (dict(grid={"Itau_mem": [1e-5]}), ValueError, "SOIF_LEAK_N, whose bias generator spans"),
    (dict(grid={"Ispkthr": [1e-15]}), ValueError, "SOIF_SPKTHR_P"),
    (dict(grid={"Igain_syn": [1e-5]}), ValueError, "DEAM_EGAIN_P"),
    (dict(net=NET4, grid={"Igain_ampa": [1e-5]}), ValueError, "DEAM_EGAIN_P"),
    (dict(grid={"Igain_ampa": [1e-9]}), ValueError, "did you mean 'Igain_ahp'?"),
    (dict(grid={"Iscale": [1e-5]}), ValueError, "base-weight biases SYAM_W0_P"),
    (dict(grid={"percent_mismatch": [1.5]}), ValueError, "percent_mismatch must be a fraction"),
    (dict(grid={"percent_mismatch": [-0.1]}), ValueError, "percent_mismatch must be a fraction"),
    (dict(grid={"Iscale": ["big"]}), TypeError, "must hold numbers"),
    (dict(grid={"Iscale": [True]}), TypeError, "must hold numbers"),
    (dict(net=NET4, grid={"Itau_syn": [1e-11], "Itau_gaba": [1e-11]}), ValueError, "vary it once"),
    (dict(grid=[1e-8]), TypeError, "must be a dict"),
    (dict(percent_mismatch=0.1, grid={"percent_mismatch": [0.1]}), ValueError, "in one place"),
    (dict(percent_mismatch=5), ValueError, "did you mean 0.05"),
    (dict(chunk_size=0), ValueError, "chunk_size must be >= 1"),
    (dict(chunk_size=2.5), TypeError, "chunk_size must be an integer"),
    (dict(traces=2, n_chips=1), ValueError, "traces must be an integer in 0..n_chips (1)"),
    (dict(traces=-1), ValueError, "traces must be an integer"),
    (dict(devices=[]), TypeError, "non-empty list of JAX devices"),
    (dict(devices=["cpu"]), TypeError, "non-empty list of JAX devices"),
    (dict(labels=[0, 1, 2]), ValueError, "integers 0..1"),
    (dict(labels=[0, 1]), ValueError, "shape (3,)"),
    (dict(labels=np.eye(3)), ValueError, "one-hot labels must have shape (3, 2)"),
    (dict(labels=[0.0, 1.0, 0.0]), ValueError, "labels must be integers"),
]


@pytest.fixture
def no_computation(monkeypatch):
    "Any simulation (compiling or running a chunk) fails the test: errors must come before it."
    def boom(*a, **k): raise AssertionError("the sweep started computing before refusing its input")
    monkeypatch.setattr(sw, "_run_items", boom)
    monkeypatch.setattr(sw, "_compile", boom)
    monkeypatch.setattr(sw, "_draws", boom)


@pytest.mark.parametrize("kw, exc, msg", BAD, ids=[f"{i}-{m[:24]}" for i, (_, _, m) in enumerate(BAD)])
def test_bad_input_refused_before_computing(no_computation, kw, exc, msg):
    kw = dict(kw); labels, net = kw.pop("labels", None), kw.pop("net", NET)
    with pytest.raises(exc, match=None) as e:
        sw.sweep(net, X, labels, progress=False, **kw)
    assert msg in str(e.value), str(e.value)


@pytest.mark.parametrize("x, msg", [
    (X[..., :59], "has 59 channels"),                   # the wrong width
    (X[:, :, :, None], "must have shape (T, 60) or (B, T, 60)"),
    (-X, "negative entries"),
    (np.where(X > 0, np.nan, X), "NaN/inf"),
    (X[:0], "is empty"),
], ids=["width", "ndim", "negative", "nan", "empty"])
def test_bad_inputs_refused_before_computing(no_computation, x, msg):
    with pytest.raises((ValueError, TypeError)) as e:
        sw.sweep(NET, x, progress=False)
    assert msg in str(e.value), str(e.value)


@pytest.mark.parametrize("net, msg", [
    (LinearJax((60, 2)), "holding DynapSim"),
    (Sequential(LinearJax((60, 2)), LinearJax((2, 2))), "holding DynapSim"),
    ("net", "holding DynapSim"),
], ids=["linear", "no-dynapsim", "string"])
def test_not_a_network_refused(no_computation, net, msg):
    with pytest.raises(TypeError, match=msg):
        sw.sweep(net, X, progress=False)


def test_unknown_name_in_a_two_population_network_names_the_modules(no_computation):
    net = Sequential(LinearJax((60, 4)), DynapSim(4), LinearJax((4, 2)), DynapSim(2))
    assert "1_DynapSim.Itau_mem" in sw.grid_names(net) and "3_DynapSim.Iscale" in sw.grid_names(net)
    with pytest.raises(ValueError, match="did you mean '3_DynapSim.Itau_mem'"):
        sw.sweep(net, X, grid={"3_DynapSim.Itau_mme": [5e-12]}, progress=False)


def test_overflow_is_an_error_not_nan_counts():
    net = Sequential(LinearJax((60, 2), weight=np.full((60, 2), 3e38, np.float32)), DynapSim(2))
    with pytest.raises(FloatingPointError, match="chip 0 at grid point 0"):
        sw.sweep(net, X, n_chips=2, progress=False)


def test_two_populations_each_get_their_own_mismatch():
    "The second DynapSim of chip i draws from fold_in(chip_key(key, i), 1), as train.sample_sim_params."
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(1, 0.5, (60, 4)), rng.normal(2, 1, (4, 2))
    net = Sequential(LinearJax((60, 4), weight=w1), DynapSim(4), LinearJax((4, 2), weight=w2), DynapSim(2))
    res = sw.sweep(net, X, n_chips=3, key=4, progress=False)
    k = sw.chip_key(4, 2)
    ref = Sequential(LinearJax((60, 4), weight=w1), DynapSim(4, percent_mismatch=0.05, rng_key=k),
                     LinearJax((4, 2), weight=w2), DynapSim(2, percent_mismatch=0.05, rng_key=jax.random.fold_in(k, 1)))
    assert np.array_equal(res.counts[0, 2], np.asarray(ref(X)[0]).sum(1).astype(np.int32))
    df = res.frame()
    assert list(df.columns) == ["point", "chip", "sample", "count_0", "count_1", "frr"] and len(df) == 3 * 3


def test_bench_sweep_smoke(tmp_path):
    out = tmp_path / "sweep.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_sweep.py"), "--quick", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert r.returncode == 0, r.stderr[-3000:]
    d = json.loads(out.read_text())
    assert d["sweep_counts_identical_over_chunk_sizes"] and d["loop"]["counts_equal_sweep"]
    assert d["devices"]["identical_counts"] and "passes" in d and "GPU" in d["gpu"]


def test_chunk_size_does_not_round_differently():
    """Chip 145 of key 0 on the original tutorial's 100 test samples: a sweep that vmapped a whole chunk at once summed
    its input in another order at 41 chips per call than at 8, and moved one of its spikes. With fixed groups of LANES
    items, every chunk size gives the module's counts."""
    from dynapse_nb.sweep import chip_key
    x = FrozenNoiseDataset(100, seed=2023).input_raster
    net = tutorial_network()
    module = np.asarray(tutorial_network(percent_mismatch=0.05, rng_key=chip_key(0, 145))(x)[0]).sum(1)
    for chunk in (8, 41, 160):
        res = sw.sweep(net, x, n_chips=160, chunk_size=chunk, progress=False)
        np.testing.assert_array_equal(res.counts[0, 145], module, err_msg=f"chunk_size={chunk}")
