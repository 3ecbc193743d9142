"""Cross-layer properties of the deployment path: spec -> config -> JSON -> config -> readback network.

* config -> JSON -> config is the identity (`config.diff` is empty);
* spec -> config -> readback reproduces every weight exactly as `dequantize` does and every current as the bias
  generator realizes it; the readback network spikes exactly like `dynapsim_net_from_spec` of the quantized spec;
* multi-core (600 neurons, 3 cores) and multi-chip (1500 neurons, 6 cores on 2 chips; and a small net spread over
  4 chips) networks with recurrent connections that cross cores and chips;
* every limit violation and a malformed file are refused with a message naming the problem.
"""
import importlib.util, json, subprocess, sys, warnings
from pathlib import Path

import numpy as np
import pytest

from dynapse_nb.chip import IO, MONITOR_HOP, N_CAM, N_CORES, N_SRAM, Dendrite, chip_hops
from dynapse_nb.biasgen import bias_range, nearest_achievable
from dynapse_nb.nn import LinearJax, Sequential
from dynapse_nb.dynapsim import COMMON_CURRENTS, SYNAPSE_MODELS, DynapSim
from dynapse_nb.mapping import ClusteringWarning, mapper
from dynapse_nb.quantize import DroppedWeightWarning, dequantize, quantize
from dynapse_nb.config import ConfigError, Dynapse2Destination, diff, load, save
from dynapse_nb.from_spec import config_from_specification, spec_biases
from dynapse_nb.biasgen import BiasSaturationWarning
from dynapse_nb.readback import (UnreachedSynapseWarning, dynapsim_net_from_config, dynapsim_net_from_spec,
                                 read_config)

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- networks


def sparse_columns(n_pre, n_post, k, rng, scale=1.0):
    "(n_pre, n_post) float32 with exactly k non-zero entries per column, |w| in scale * [0.5, 1.5], random signs."
    w = np.zeros((n_pre, n_post), np.float32)
    rows = np.argsort(rng.random((n_pre, n_post)), axis=0)[:k]
    w[rows, np.arange(n_post)] = scale * rng.uniform(0.5, 1.5, (k, n_post)) * rng.choice([-1, 1], (k, n_post))
    return w


def compile_net(net, **mapper_kw):
    "mapper -> quantize; the quantized spec."
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (DroppedWeightWarning, ClusteringWarning))
        spec = mapper(net.as_graph(), **mapper_kw)
        spec.update(quantize(**spec))
    return spec


def network(N, n_in, k_in, k_rec, seed, **dyn):
    rng = np.random.default_rng(seed)
    w_in = sparse_columns(n_in, N, k_in, rng, 10.0)
    w_rec = sparse_columns(N, N, k_rec, rng, 3.0)
    return Sequential(LinearJax((n_in, N), weight=w_in), DynapSim(N, has_rec=True, w_rec=w_rec, **dyn))


@pytest.fixture(scope="module")
def multi_core():
    "600 neurons on 3 cores of chip 0, 40 inputs; fan-in 20 + 30."
    net = network(600, 40, 20, 30, seed=1, Idc=2e-11)
    spec = compile_net(net)
    return net, spec, config_from_specification(**spec)


@pytest.fixture(scope="module")
def multi_chip():
    "1500 neurons on 6 cores of chips 0 and 1, 100 inputs; fan-in 16 + 40; two cores with other currents."
    N = 1500
    itau = np.full(N, 5e-12); itau[1000:] = 8e-12                 # chip 1 gets its own leak
    net = network(N, 100, 16, 40, seed=2, Itau_mem=itau)
    spec = compile_net(net, n_chips=2)
    return net, spec, config_from_specification(**spec)


# ---------------------------------------------------------------- layer rules and names


def test_config_does_not_import_jax():
    code = "import sys, dynapse_nb.config; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_current_names_agree_with_the_simulator():
    for name, model in SYNAPSE_MODELS.items():
        names = set(spec_biases(name))
        assert names == set(COMMON_CURRENTS) | set(model.currents) | {f"Iw_{b}" for b in range(4)}
        assert set(model.biases) == set(model.currents)


# ---------------------------------------------------------------- layout of what is written


def test_multi_core_layout(multi_core):
    net, spec, cfg = multi_core
    cm = spec["core_map"]
    assert spec["n_cluster"] == 3 and len(np.unique(cm)) == 3
    crossing = (spec["weights_rec"] > 0) & (cm[:, None] != cm[None, :])
    assert crossing.sum() > 1000                                  # recurrent connections cross cores
    n = int(np.argmax(crossing.sum(1)))                           # a neuron with targets on other cores
    core = cfg["config"].chips[0].cores[int(cm[n])]
    k = int(np.sum(cm[:n] == cm[n]))                              # its place in its core
    d = core.neurons[k].destinations
    assert d[0] == Dynapse2Destination((True,) * 4, *MONITOR_HOP, 40 + n)
    targets = {int(c) for c in cm[spec["weights_rec"][n] > 0]}
    assert d[1] == Dynapse2Destination(tuple(c in targets for c in range(4)), 0, 0, 40 + n)
    assert d[2] == Dynapse2Destination()
    assert list(cfg["input_channel_map"]) == list(range(40))


def test_multi_chip_layout(multi_chip):
    net, spec, cfg = multi_chip
    cm = spec["core_map"]
    chips = cm // N_CORES
    assert set(chips.tolist()) == {0, 1} and len(cfg["config"].chips) == 2
    cross = (spec["weights_rec"] > 0) & (chips[:, None] != chips[None, :])
    assert cross.sum() > 1000
    src = int(np.flatnonzero(chips == 1)[0])                      # a chip-1 neuron with targets on chip 0
    assert cross[src].any()
    mem = cfg["config"].chips[1].cores[int(cm[src]) % 4].memory
    k = int(np.sum(cm[:src] == cm[src]))
    hops = list(zip(mem.dest_x_hop[k], mem.dest_y_hop[k]))
    assert chip_hops(1, 0) in hops and chip_hops(1, 1) in hops
    assert (mem.dest_tag[k][mem.dest_core[k].any(-1)] == 100 + src).all()
    assert all(len(v) <= 2 for v in cfg["input_channel_map"].values())
    itau = [cfg["config"].chips[c // 4].cores[c % 4].parameters["SOIF_LEAK_N"].fine_value for c in range(6)]
    assert len(set(itau[:4])) == 1 and itau[4] == itau[5] != itau[0]


def test_lumping_rule_and_dc_latch():
    net = Sequential(LinearJax((4, 3), weight=np.eye(4, 3) * 5),
                     DynapSim(3, synapse_model="lumped", Itau_syn=2e-11, Idc=np.array([IO, 1e-10, 1e-10])))
    spec = compile_net(net, n_cluster=2)
    cfg = config_from_specification(**spec)["config"]
    par = cfg.chips[0].cores[0].parameters
    codes = {(par[b].coarse_value, par[b].fine_value) for b in spec_biases("lumped")["Itau_syn"]}
    assert len(codes) == 1                                        # one code on all four dendrites
    core_of = spec["core_map"]
    lat = [cfg.chips[0].cores[core_of[n]].neurons[int(np.sum(core_of[:n] == core_of[n]))].latch_so_dc for n in range(3)]
    assert lat == [spec["Idc"][core_of[n]] > IO for n in range(3)]


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("case", ["multi_core", "multi_chip"])
def test_json_round_trip_is_the_identity(case, request, tmp_path):
    cfg = request.getfixturevalue(case)[2]["config"]
    back = load(save(cfg, tmp_path / "cfg.json"))
    assert diff(cfg, back) == []
    assert back == cfg


@pytest.mark.parametrize("case", ["multi_core", "multi_chip"])
def test_readback_reproduces_weights_and_currents(case, request):
    net, spec, cfg = request.getfixturevalue(case)
    r = read_config(**cfg)
    assert np.array_equal(r.arrays.masks_in, spec["weights_in"]) and np.array_equal(r.arrays.masks_rec, spec["weights_rec"])
    back = dynapsim_net_from_config(**cfg, Iscale=spec["Iscale"])
    w_in, w_rec = dequantize(**spec)
    assert np.array_equal(back[0].weight, w_in.astype(np.float32))
    assert np.array_equal(back[1].w_rec, w_rec.astype(np.float32))
    cm = spec["core_map"]
    for name, biases in spec_biases(spec["synapse_model"]).items():
        if name.startswith("Iw_") and name != "Iw_ahp": continue
        want = np.asarray(spec[name])[cm]
        got = getattr(back[1], name)
        if name in ("Idc", "Iw_ahp"):                             # off (<= Io) -> latch off -> no current at all
            real = np.where(want > IO, nearest_achievable(biases[0], np.maximum(want, bias_range(biases[0])[0])), 0.0)
        else:                                                     # off -> the bias's lowest current
            real = np.where(want > IO, nearest_achievable(biases[0], np.maximum(want, bias_range(biases[0])[0])),
                            bias_range(biases[0])[0])
        assert np.array_equal(got, real.astype(np.float32)), name
        on = want > IO
        assert np.all(np.abs(got[on] / want[on] - 1) < 0.12), name  # the bias generator's worst relative error


@pytest.mark.parametrize("case", ["multi_core", "multi_chip"])
def test_readback_spikes_like_the_quantized_spec(case, request):
    net, spec, cfg = request.getfixturevalue(case)
    back = dynapsim_net_from_config(**cfg, Iscale=spec["Iscale"])
    ref = dynapsim_net_from_spec(**spec)
    x = (np.random.default_rng(5).random((150, back.size_in)) < 0.1).astype(np.float32)
    a, b = np.asarray(back(x)[0]), np.asarray(ref(x)[0])
    assert a.sum() > 100                                          # the network is active
    assert np.array_equal(a, b)
    mm = dict(percent_mismatch=0.1, rng_key=7)
    a = np.asarray(dynapsim_net_from_config(**cfg, Iscale=spec["Iscale"], **mm)(x)[0])
    assert np.array_equal(a, np.asarray(dynapsim_net_from_spec(**spec, **mm)(x)[0]))


def test_small_net_spread_over_four_chips():
    "8 neurons forced onto 8 cores = chips 0 and 1 ... then moved by hand onto chips 0, 1 and 2 (<= 3 target chips)."
    net = network(8, 5, 3, 4, seed=3, Idc=1e-11)
    spec = compile_net(net, n_cluster=8)
    assert set((spec["core_map"] // 4).tolist()) == {0, 1}
    spec["core_map"] = np.array([0, 4, 8, 1, 5, 9, 10, 2])           # one neuron per core, chips 0, 1 and 2
    spec["n_cluster"] = 11
    for k in spec_biases(spec["synapse_model"]): spec[k] = list(spec[k]) + [spec[k][0]] * 3
    cfg = config_from_specification(**spec)
    back = dynapsim_net_from_config(**cfg, Iscale=spec["Iscale"])
    assert np.array_equal(back[1].w_rec, dequantize(**spec)[1].astype(np.float32))
    x = (np.random.default_rng(0).random((200, 5)) < 0.2).astype(np.float32)
    assert np.array_equal(np.asarray(back(x)[0]), np.asarray(dynapsim_net_from_spec(**spec)(x)[0]))


def test_unquantized_spec_is_quantized_on_the_way(multi_core):
    net, spec, cfg = multi_core
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (DroppedWeightWarning, ClusteringWarning))
        raw = mapper(net.as_graph())
        cfg2 = config_from_specification(**raw)
    assert diff(cfg["config"], cfg2["config"]) == [] and cfg2["input_channel_map"] == cfg["input_channel_map"]


def test_neurons_without_synapses_are_kept():
    w_in = np.zeros((3, 4), np.float32); w_in[0, 0] = 5.0        # neurons 1..3 receive nothing
    net = Sequential(LinearJax((3, 4), weight=w_in), DynapSim(4, Idc=1e-10))
    spec = compile_net(net)
    back = dynapsim_net_from_config(**config_from_specification(**spec), Iscale=spec["Iscale"])
    assert back.shape == (3, 4) and not back[1].has_rec
    assert np.array_equal(back[0].weight, dequantize(**spec)[0].astype(np.float32))


def test_network_without_inputs_reads_back_as_a_dynapsim():
    rng = np.random.default_rng(4)
    net = DynapSim(20, has_rec=True, w_rec=sparse_columns(20, 20, 5, rng, 3.0), Idc=1e-10)
    spec = compile_net(net)
    cfg = config_from_specification(**spec)
    assert cfg["input_channel_map"] == {}
    back = dynapsim_net_from_config(**cfg, Iscale=spec["Iscale"])
    assert isinstance(back, DynapSim) and np.array_equal(back.w_rec, dequantize(**spec)[1].astype(np.float32))


def test_synapse_types_round_trip():
    rng = np.random.default_rng(6)
    w_in, w_rec = np.abs(sparse_columns(6, 10, 3, rng, 10)), np.abs(sparse_columns(10, 10, 3, rng, 3))
    st_in, st_rec = rng.integers(0, 4, (6, 10)), rng.integers(0, 4, (10, 10))
    net = Sequential(LinearJax((6, 10), weight=w_in, syn_types=st_in),
                     DynapSim(10, has_rec=True, w_rec=w_rec, syn_types_rec=st_rec, Idc=1e-11, synapse_model="four"))
    spec = compile_net(net)
    cfg = config_from_specification(**spec)
    back = dynapsim_net_from_config(**cfg, Iscale=spec["Iscale"], synapse_model="four")
    nz = spec["weights_in"] > 0
    assert np.array_equal(back[0].syn_types[nz], st_in[nz])
    x = (rng.random((200, 6)) < 0.2).astype(np.float32)
    assert np.array_equal(np.asarray(back(x)[0]), np.asarray(dynapsim_net_from_spec(**spec)(x)[0]))


# ---------------------------------------------------------------- refusals


def quantized_toy(core_map, n_in, w_in=None, w_rec=None):
    cm = np.asarray(core_map); n = int(cm.max()) + 1; N = len(cm)
    w_in = np.zeros((n_in, N), int) if w_in is None else w_in
    w_rec = np.zeros((N, N), int) if w_rec is None else w_rec
    spec = dict(core_map=cm, weights_in=np.abs(w_in).astype(np.uint8), sign_in=np.sign(w_in).astype(np.int8),
                weights_rec=np.abs(w_rec).astype(np.uint8), sign_rec=np.sign(w_rec).astype(np.int8))
    spec.update({k: [1e-10] * n for k in spec_biases("four")}, Idc=[IO] * n)
    return spec


def refused(spec, *contains, **kw):
    with pytest.raises((ConfigError, ValueError, KeyError, TypeError)) as e:
        config_from_specification(**spec, **kw)
    for c in contains: assert c in str(e.value), str(e.value)
    return e.value


def test_refuses_missing_keys_and_bad_shapes():
    refused(dict(core_map=[0]), "no 'weights_in', 'weights_rec'")
    toy = quantized_toy([0, 0], 3)
    refused({k: v for k, v in toy.items() if k not in ("Iw_1", "Ipulse")}, "'Ipulse'", "'Iw_1'")
    refused({**toy, "weights_in": np.zeros((3, 5), np.uint8)}, "weights_in has shape (3, 5), expected (3, 2)")
    refused({**toy, "sign_rec": np.zeros((3, 3), np.int8)}, "sign_rec has shape (3, 3), expected (2, 2)")
    refused({**toy, "syn_types_in": np.full((3, 2), 4)}, "syn_types_in", "must be in 0..3")
    refused({**toy, "core_map": np.array([[0, 0]])}, "non-empty 1-D array of core indices")


def test_refuses_what_does_not_fit_the_board():
    refused(quantized_toy([0, 17], 1), "beyond the board's 16", "n_chips=5")
    refused(quantized_toy([0, 4], 1), "beyond the board's 4", n_chips=1)
    refused(quantized_toy([0] * 257, 1), "1 core(s) hold more than 256 neurons: core 0: 257")
    refused(quantized_toy([0, 1], 2047), "2047 input channels + 2 neurons need tags 0..2048")
    w_in = np.ones((N_CAM + 1, 2), int); w_in[-1, 1] = 0             # neuron 1: exactly 64 -- fine
    config_from_specification(**quantized_toy([0, 1], N_CAM, w_in[:N_CAM]))
    w_rec = np.zeros((5, 5), int); w_rec[0, 1:] = 1                  # neuron 0 -> chips 0..3: 1 + 4 SRAM entries
    e = refused(quantized_toy([0, 0, 4, 8, 12], N_CAM + 1, np.ones((N_CAM + 1, 5), int), w_rec),
                "fan-in (CAM): 5 of 5 neurons", "fan-out (SRAM): 1 of 5 neurons need more than 4", "neuron 0 (core 0): 5")
    assert isinstance(e, ConfigError) and len(e.problems) == 2 and "neuron 0 (core 0): 65" in e.problems[0]
    refused(quantized_toy([0, 32], 1, np.ones((1, 2), int)), "a board has 1..8 chips", n_chips=9)
    refused({**quantized_toy([0], 1), "Iw_0": [1e-3]}, "core 0: Iw_0 = 0.001 A does not fit bias SYAM_W0_P", strict=True)
    with pytest.warns(BiasSaturationWarning, match="SYAM_W0_P"):       # without strict: saturated, as on the chip
        config_from_specification(**{**quantized_toy([0], 1), "Iw_0": [1e-3]})


def test_refuses_a_malformed_file(multi_core, tmp_path):
    cfg = multi_core[2]["config"]
    path = save(cfg, tmp_path / "cfg.json", indent=None)
    text = path.read_text()
    key = '"tag": 41}'                                              # e.g. neuron 1's monitor tag (n_in = 40)
    assert key in text
    (tmp_path / "bad.json").write_text(text.replace(key, '"tag": 5000}', 1))
    with pytest.raises(ConfigError, match="tag = 5000: outside 0..2047"):
        load(tmp_path / "bad.json")


def test_readback_refuses_what_it_cannot_read(multi_core):
    import copy
    cfg = copy.deepcopy(multi_core[2]["config"])
    cfg.chips[0].cores[1].neurons[3].destinations[0] = Dynapse2Destination()   # no monitor route any more
    with pytest.raises(ConfigError, match="no monitor route .* chip 0 core 1 neuron 3"):
        read_config(cfg)
    cfg = copy.deepcopy(multi_core[2]["config"])
    cfg.chips[0].cores[0].memory.dest_tag[0, 0] = 2000                     # monitor tag out of sequence
    with pytest.raises(ConfigError, match="monitor tags"):
        read_config(cfg, multi_core[2]["input_channel_map"])
    cfg = copy.deepcopy(multi_core[2]["config"])
    cfg.chips[0].cores[0].memory.dest_core[:, 1:] = False                  # cut every recurrent route of core 0
    with pytest.warns(UnreachedSynapseWarning):
        r = read_config(cfg)
    assert not r.arrays.masks_rec[multi_core[1]["core_map"] == 0].any()
    with pytest.raises(TypeError, match="Dynapse2Configuration"):
        dynapsim_net_from_config(multi_core[2]["input_channel_map"])


# ---------------------------------------------------------------- benchmark smoke run


def test_bench_compile_reports_config_and_total(tmp_path):
    path = ROOT / "benchmarks" / "bench_compile.py"
    mod = importlib.util.spec_from_file_location("bench_compile", path)
    bench = importlib.util.module_from_spec(mod); mod.loader.exec_module(bench)
    out = tmp_path / "compile.json"
    bench.main(["--repeat", "1", "--quick", "--out", str(out)])
    data = json.loads(out.read_text())
    for step in ("mapping", "quantize", "config", "total"):
        assert set(data[step]) == {"dense_1024", "layers_4", "two_chips_2048"}
    d = data["config"]["dense_1024"]
    assert d["cam_entries"] > 0.9 * 1024 * N_CAM and d["sram_entries"] >= 1024
    assert data["config"]["two_chips_2048"]["n_chips"] == 4
    assert data["total"]["dense_1024"]["best_s"] >= data["config"]["dense_1024"]["best_s"]
