"""Cross-layer tests of dynapse_nb.board: the virtual board against the readback simulation (spike for spike),
routing by core mask and chip, the samna backend's plumbing over a fake samna, stub detection, bad input."""
import copy
import json
import logging
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from dynapse_nb import board as B
from dynapse_nb.board import (Board, BoardClosedError, DynapseSamna, SamnaBoard, SamnaNotAvailable, VirtualBoard,
                              calibrate_iscale, check_fits, event_from_json, event_to_json, find_dynapse_boards,
                              from_samna, require_samna, samna_status, scale_base_weights, to_samna)
from dynapse_nb.chip import MAX_TAG, MONITOR_HOP, thermal_voltage
from dynapse_nb.config import ConfigError, Dynapse2Configuration, Dynapse2Destination, NormalGridEvent, from_json, to_json
from dynapse_nb.from_spec import config_from_specification
from dynapse_nb.dynapsim import DynapSim
from dynapse_nb.mapping import mapper
from dynapse_nb.nn import LinearJax, Sequential
from dynapse_nb.quantize import quantize
from dynapse_nb.readback import dynapsim_net_from_config
from dynapse_nb.spikes import FrozenNoiseDataset, poisson_spike_train

GOLDEN = Path(__file__).parent / "data" / "samna-json"


def deploy(net, **kw):
    spec = mapper(net.as_graph(), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.update(quantize(**spec))
    return config_from_specification(**spec)


def tutorial_cfg():
    "The shipped tutorial network and its configuration, with the GABA gain and drive the weights were trained for."
    from dynapse_nb.board import apply_chip_settings
    from dynapse_nb.train import load_tutorial_weights, tutorial_weights_info
    w_in, w_rec = load_tutorial_weights()
    net = Sequential(LinearJax((60, 2), weight=w_in), DynapSim((2, 2), has_rec=True, w_rec=w_rec))
    cfg = deploy(net)
    cfg["config"] = apply_chip_settings(cfg["config"], tutorial_weights_info()["chip"])
    return net, cfg


@pytest.fixture(scope="module")
def tutorial():
    return tutorial_cfg()


def multichip_cfg(seed=0):
    "12 neurons on 3 cores of 2 chips (4 per core), 10 inputs, recurrent weights across chips."
    rng = np.random.default_rng(seed)
    w_rec = rng.uniform(-1, 1.5, (12, 12)) * (rng.random((12, 12)) < 0.5) * (1 - np.eye(12))
    net = Sequential(LinearJax((10, 12), weight=rng.uniform(0, 2, (10, 12))),
                     DynapSim((12, 12), has_rec=True, w_rec=w_rec, Iscale=5e-8))
    spec = mapper(net.as_graph(), n_chips=2, max_neuron_per_cluster=4)
    spec["core_map"] = np.repeat([0, 1, 4], 4)              # cores 0, 1 of chip 0 and core 0 of chip 1
    spec["n_cluster"] = 5
    for k, v in list(spec.items()):                          # per-core currents: copy core 0's to the 5 cores
        if isinstance(v, (list, np.ndarray)) and np.ndim(v) == 1 and len(v) == 3 and k.startswith("I"):
            spec[k] = [v[0]] * 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.update(quantize(**spec))
    return config_from_specification(**spec)


# --- the virtual board is the readback simulation, spike for spike ---------------------------------------------

def test_tutorial_spike_for_spike(tutorial):
    _, cfg = tutorial
    se2 = DynapseSamna(VirtualBoard(), **cfg)
    net_q = dynapsim_net_from_config(**cfg, synapse_model="four")
    x = np.concatenate([FrozenNoiseDataset(2).input_raster, FrozenNoiseDataset(6, seed=2023).input_raster])
    out, state, rec = se2(x, record=True)
    sim = np.asarray(net_q(x)[0])
    assert out.shape == sim.shape == (8, 500, 2)
    assert sim.sum() > 0
    np.testing.assert_array_equal(out, sim)
    assert rec["n_dropped_early"] == [0] * 8 and rec["n_dropped_late"] == [0] * 8 and rec["n_unknown"] == [0] * 8
    assert se2.shape == (60, 2) and se2.dt == 1e-3
    out1, _, rec1 = se2(x[0])                                 # unbatched: (T, N) and scalar records
    np.testing.assert_array_equal(out1, sim[0])
    assert rec1["stop_time"] - rec1["start_time"] == pytest.approx(0.5)
    assert len(rec1["output_events"]) == int(sim[0].sum())


def test_multichip_spike_for_spike():
    cfg = multichip_cfg()
    assert len(cfg["config"].chips) == 2
    assert any(d.x_hop == 1 for ds in cfg["input_channel_map"].values() for d in ds)      # inputs reach chip 1
    se2 = DynapseSamna(VirtualBoard(n_chips=2), **cfg)
    net_q = dynapsim_net_from_config(**cfg, synapse_model="four")
    x = poisson_spike_train(10, 0.4, 60, batch_size=3, seed=5)
    out, _, _ = se2(x)
    sim = np.asarray(net_q(x)[0])
    assert sim.sum() > 20
    np.testing.assert_array_equal(out, sim)


def test_last_bin_is_not_lost(tutorial):
    _, cfg = tutorial
    se2 = DynapseSamna(VirtualBoard(), **cfg)
    net_q = dynapsim_net_from_config(**cfg, synapse_model="four")
    for T in (1, 2, 7):                                       # strong drive in the last bin(s) only
        x = np.zeros((T, 60)); x[-1, :] = 3
        out, _, rec = se2(x)
        net_q.reset_state()
        np.testing.assert_array_equal(out, np.asarray(net_q(x[None].astype(np.float32))[0][0]))
        assert rec["n_dropped_late"] == 0


def test_counts_become_events(tutorial):
    _, cfg = tutorial
    se2 = DynapseSamna(VirtualBoard(), **cfg)
    x = np.zeros((3, 60), int); x[1, 4] = 5; x[1, 7] = 2
    _, _, rec = se2(x)
    assert rec["n_input_events"] == 7


def test_early_events_are_dropped_and_counted(tutorial):
    _, cfg = tutorial

    class Leaky(VirtualBoard):                                # a board that returns an event from before the run
        def read_events(self):
            evs = super().read_events()
            return [NormalGridEvent(Dynapse2Destination((True,) * 4, -7, -7, 60), 0)] + evs

    b = Leaky()
    b.apply_configuration(cfg["config"])
    b.write_events([NormalGridEvent(B.CONTROL_DESTINATION, 50_000)]); b.read_events()      # clock to 51 ms
    se2 = DynapseSamna(b, **cfg)
    x = FrozenNoiseDataset(2).input_raster[0]
    with pytest.warns(UserWarning, match="before the start"):     # never silent
        out, _, rec = se2(x)
    ref, _, _ = DynapseSamna(VirtualBoard(), **cfg)(x)
    np.testing.assert_array_equal(out, ref)                   # not added to bin 0
    assert rec["n_dropped_early"] >= 1


# --- routing: core masks, chips, tags ------------------------------------------------------------------------------

def test_core_mask_restricts_delivery():
    cfg = multichip_cfg(1)
    m = cfg["input_channel_map"]
    # keep only core 0 of chip 0 in every input destination
    narrow = {i: [Dynapse2Destination((True, False, False, False), 0, 0, d.tag) for d in ds if d.x_hop == 0]
              for i, ds in m.items()}
    b = VirtualBoard(n_chips=2)
    se2 = DynapseSamna(b, cfg["config"], narrow)
    x = poisson_spike_train(10, 0.4, 60, batch_size=2, seed=6)
    out, _, _ = se2(x)
    assert b._partial                                       # events reach only some listeners: own input rows
    # expected: the readback network with the inputs to neurons outside chip 0 / core 0 removed
    net_q = dynapsim_net_from_config(**cfg, synapse_model="four")
    w = net_q[0].weight.copy(); w[:, 4:] = 0                  # neurons 4..11 sit on core 1 and on chip 1
    net_q[0].weight = w
    sim = np.asarray(net_q(x)[0])
    np.testing.assert_array_equal(out, sim)
    assert out[..., :4].sum() > 0


def test_unmatched_lost_bounced_and_neuron_tags():
    cfg = multichip_cfg(2)
    b = VirtualBoard(n_chips=2)
    b.apply_configuration(cfg["config"])
    n_in = b.n_in
    t0 = b.fpga_time_us()
    evs = [NormalGridEvent(Dynapse2Destination((True,) * 4, 0, 0, 1500), t0 + 10),      # no CAM holds tag 1500
           NormalGridEvent(Dynapse2Destination((True,) * 4, 3, 0, 0), t0 + 10),         # no chip at hop 3
           NormalGridEvent(Dynapse2Destination((True,) * 4, -2, 0, 5), t0 + 10),        # west: back to the host
           NormalGridEvent(Dynapse2Destination((True,) * 4, 0, 0, n_in + 0), t0 + 10)]  # neuron 0's tag, from outside
    b.write_events(evs)
    back = b.read_events()
    assert b.stats["unmatched"] >= 1 and b.stats["lost"] == 1 and b.stats["bounced"] == 1
    assert [e.event for e in back if e.event.tag == 5] == [Dynapse2Destination((True,) * 4, -1, 0, 5)]
    targets = np.flatnonzero(b._dyn.w_rec[0] != 0)
    on_chip0 = [n for n in targets if b._chip[n] == 0]
    if on_chip0: assert len(b._partial) == 1                 # delivered to neuron 0's targets on chip 0
    late = b.stats["late"]
    b.write_events([NormalGridEvent(Dynapse2Destination((True,) * 4, 0, 0, 0), 0)])    # in the past
    b.read_events()
    assert b.stats["late"] == late + 1


def test_clock_counts_simulated_time(tutorial):
    _, cfg = tutorial
    b = VirtualBoard(idle_time=5e-3)
    assert b.fpga_time_us() == 0
    b.read_events()
    assert b.fpga_time_us() == 5000                           # idle: one idle_time of simulated time
    se2 = DynapseSamna(b, **cfg)
    se2(np.zeros((123, 60)))
    assert b.fpga_time_us() == 5000 + 123_000


def test_mismatch_and_temperature(tutorial):
    _, cfg = tutorial
    x = np.concatenate([FrozenNoiseDataset(2).input_raster, FrozenNoiseDataset(4, seed=2023).input_raster])
    run = lambda b: DynapseSamna(b, **cfg)(x)[0]
    ideal = run(VirtualBoard())
    a, a2, c = (run(VirtualBoard(rng_key=s, percent_mismatch=0.2)) for s in (1, 1, 2))
    np.testing.assert_array_equal(a, a2)
    assert not np.array_equal(a, c) and not np.array_equal(a, ideal)
    np.testing.assert_array_equal(run(VirtualBoard(rng_key=9, percent_mismatch=0.0)), ideal)   # key alone: no change
    hot = VirtualBoard(temperature=350); hot.apply_configuration(cfg["config"])
    assert float(hot._dyn.Ut[0]) == pytest.approx(thermal_voltage(350), rel=1e-6)


# --- bad input ----------------------------------------------------------------------------------------------------

def test_bad_input(tutorial):
    _, cfg = tutorial
    b = VirtualBoard()
    se2 = DynapseSamna(b, **cfg)
    for x, msg in ((np.zeros((5, 61)), "channel 60 has no destination"), (np.zeros((5, 59)), "network has 60"),
                   (np.full((5, 60), np.nan), "NaN"), (-np.ones((5, 60)), "negative"),
                   (np.zeros((2, 3, 4, 60)), "shape (T, 60)"), (np.zeros((0, 60)), "empty"),
                   (np.full((5, 60), "a"), "spike counts")):
        with pytest.raises((ValueError, TypeError), match=None) as e:
            se2(x)
        assert msg in str(e.value), (msg, str(e.value))
    big = copy.deepcopy(cfg["config"])
    with pytest.raises(ConfigError, match="the configuration has 4 chips, the board has 1"):
        VirtualBoard(n_chips=1).apply_configuration(big)
    big.chips[0].cores[0].memory.dest_tag[0, 2] = 3000
    with pytest.raises(ConfigError, match="destinations.2..tag = 3000"):
        b.apply_configuration(big)
    big = copy.deepcopy(cfg["config"]); big.chips[0].cores[0].memory.dest_y_hop[0, 1] = 12
    with pytest.raises(ConfigError, match="outside -7..7"):
        check_fits(big)
    with pytest.raises(TypeError, match="Dynapse2Configuration"):
        b.apply_configuration(cfg)
    b.close()
    for call in (b.read_events, b.fpga_time_us, b.reset, lambda: b.write_events([]),
                 lambda: b.apply_configuration(cfg["config"]), lambda: se2(np.zeros((5, 60)))):
        with pytest.raises(BoardClosedError, match="closed"):
            call()
    with pytest.raises(TypeError, match="events.1. is a int"):
        VirtualBoard().write_events([NormalGridEvent(), 5])


# --- samna: stub detection, never importing it ----------------------------------------------------------------------

STUB = ("import subprocess, sys\nopen({marker!r}, 'w').close()\n"
        "subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--force-reinstall', 'samna==0.48.6',\n"
        "    '--index-url', 'https://pypi.synsense.ai/simple'])\n")


def make(root, kind, marker):
    pkg = root / "samna"
    if kind == "stub":
        pkg.mkdir(parents=True); (pkg / "__init__.py").write_text(STUB.format(marker=str(marker)))
    elif kind == "real":
        (pkg / "dynapse2").mkdir(parents=True); (pkg / "__init__.py").write_text("from .samna import *\n")
        (pkg / "lib").mkdir(); (pkg / "lib" / "libsamna.so.0.48").write_bytes(b"\x7fELF")
    elif kind == "extension":
        root.mkdir(parents=True); (root / "samna.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    elif kind == "plain":
        pkg.mkdir(parents=True); (pkg / "__init__.py").write_text("VERSION = '0'\n")
    elif kind == "namespace":
        pkg.mkdir(parents=True); (pkg / "readme.txt").write_text("x")
    else:
        root.mkdir(parents=True)
    return root


@pytest.mark.parametrize("kind,state", [("none", "missing"), ("stub", "stub"), ("real", "real"),
                                        ("extension", "real"), ("plain", "unrecognized"),
                                        ("namespace", "unrecognized")])
def test_samna_status(tmp_path, kind, state):
    marker = tmp_path / "IMPORTED"
    st = samna_status(make(tmp_path / kind, kind, marker))
    assert st.state == state, st
    assert st.usable == (state == "real")
    if state != "real":
        with pytest.raises(ImportError) as e:
            require_samna(st)
        assert isinstance(e.value, SamnaNotAvailable) and "SynSense" in str(e.value)
        assert "VirtualBoard()" in str(e.value)
    assert not marker.exists()                                # the stub was never run


def test_find_boards_without_samna(tmp_path, monkeypatch, caplog):
    stub = samna_status(make(tmp_path / "s", "stub", tmp_path / "IMPORTED"))
    monkeypatch.setattr(B, "samna_status", lambda path=None: stub)
    with caplog.at_level(logging.INFO, logger="dynapse_nb.board"):
        assert find_dynapse_boards() == []
    assert len(caplog.records) == 1 and "stub samna" in caplog.records[0].getMessage()
    assert caplog.records[0].levelname == "INFO"                # the normal no-hardware path is calm
    with pytest.raises(SamnaNotAvailable, match="placeholder"):
        SamnaBoard(None)
    assert not (tmp_path / "IMPORTED").exists()


# --- samna JSON -----------------------------------------------------------------------------------------------------

def test_event_json_layouts():
    text = (GOLDEN / "golden_normal_grid_event.json").read_text()
    ev = event_from_json(text)
    assert ev == NormalGridEvent(Dynapse2Destination((True, False, True, False), -1, 1, 1234), 123456)
    assert event_to_json(ev, 4) == text
    assert json.loads(event_to_json(ev)) == json.loads(text)
    one_line = json.dumps(json.loads(text), separators=(",", ":"))
    assert event_from_json(one_line) == ev
    with pytest.raises(ConfigError, match="tag = 2048"):
        event_from_json(one_line.replace("1234", "2048"))
    with pytest.raises(ConfigError, match="value0"):
        event_from_json(json.dumps(json.loads(text)["value0"]))
    dest = from_json((GOLDEN / "golden_destination.json").read_text(), Dynapse2Destination)
    assert dest == ev.event


# --- the samna backend's plumbing, over a fake samna whose device is a VirtualBoard ---------------------------------

class FakeObj:
    "A samna structure: state only through to_json/from_json (as the real objects)."
    def __init__(self): self._text = None
    def from_json(self, text): json.loads(text); self._text = text
    def to_json(self): return self._text


class FakeEvent(FakeObj):
    @property
    def timestamp(self): return json.loads(self._text)["value0"]["timestamp"]
    @property
    def event(self): return json.loads(self._text)["value0"]["event"]


class FakeDevice:
    def __init__(self, n_chips):
        self.vb, self.closed = VirtualBoard(n_chips=n_chips), False
        self.model = types.SimpleNamespace(apply_configuration=self._apply)
    def _apply(self, cfg_obj):
        assert isinstance(cfg_obj, FakeObj)
        self.vb.apply_configuration(from_samna(cfg_obj, Dynapse2Configuration))
    def get_model(self): return self.model
    def grid_bus_write_events(self, evs):
        assert all(isinstance(e, FakeEvent) for e in evs)
        self.vb.write_events([from_samna(e) for e in evs])
    def input_interface_write_events(self, i, evs):
        assert i == 0
        now = self.vb.fpga_time_us()                          # the FPGA stamps control events on arrival
        self.vb.write_events([NormalGridEvent(from_samna(e).event, now) for e in evs])
    def read_events(self): return [to_samna(e, FakeEvent) for e in self.vb.read_events()]


def fake_samna(n_chips):
    dev = FakeDevice(n_chips)
    closed = []
    samna = types.SimpleNamespace(
        device=types.SimpleNamespace(open_device=lambda info: dev, close_device=lambda d: closed.append(d),
                                     get_all_devices=lambda: [info]),
        dynapse2=types.SimpleNamespace(Dynapse2Configuration=FakeObj, NormalGridEvent=FakeEvent))
    info = types.SimpleNamespace(device_type_name="DYNAP-SE2 Stack", serial_number="X1")
    return samna, info, dev, closed


def test_samna_board_over_fake_samna(tutorial):
    _, cfg = tutorial
    samna, info, dev, closed = fake_samna(4)
    sb = SamnaBoard(info, settle_time=0.0, timeout=2.0, _samna=samna)
    assert isinstance(sb, Board)
    se2 = DynapseSamna(sb, **cfg)
    x = FrozenNoiseDataset(2).input_raster
    out, _, rec = se2(x)
    ref, _, _ = DynapseSamna(VirtualBoard(), **cfg)(x)
    assert abs(out.sum() - ref.sum()) <= 0.05 * ref.sum()     # same network; the chip idled between runs
    assert rec["start_time"][0] >= 0.1                        # the board's default offset
    # events read while reading the clock are kept for read_events, not lost
    net, _ = tutorial
    sb.read_events()                                          # what the runs above left behind
    before = dev.vb.stats["spikes_out"]
    t = sb.fpga_time_us()
    d0 = cfg["input_channel_map"][int(np.argmax(net[0].weight.max(1)))][0]   # the most exciting input channel
    sb.write_events([NormalGridEvent(d0, t + 1000 + j) for j in range(40)])
    sb.write_events([NormalGridEvent(B.CONTROL_DESTINATION, t + 30_000)])
    sb.fpga_time_us()
    got = sb.read_events()
    assert dev.vb.stats["spikes_out"] > before
    assert len([e for e in got if not B._is_control(e)]) == dev.vb.stats["spikes_out"] - before
    sb.close(); sb.close()
    assert closed == [dev]
    with pytest.raises(BoardClosedError):
        sb.read_events()


def test_samna_board_refuses_a_missing_bitfile(tmp_path):
    samna, info, _, _ = fake_samna(1)
    with pytest.raises(FileNotFoundError, match="bitfile"):
        SamnaBoard(info, bitfile=tmp_path / "nope.bit", _samna=samna)


# --- calibration ------------------------------------------------------------------------------------------------------

def test_calibrate_iscale(tutorial):
    net, cfg = tutorial
    x = np.concatenate([FrozenNoiseDataset(2).input_raster, FrozenNoiseDataset(2, seed=2023).input_raster])
    k, cal = calibrate_iscale(VirtualBoard(), cfg, dynapsim_net_from_config(**cfg, synapse_model="four"), x)
    assert k == 1.0
    hot = VirtualBoard(temperature=360)
    k, cal = calibrate_iscale(hot, cfg, net, x, rtol=0.05)
    net.reset_state()
    target = np.asarray(net(x)[0]).sum()
    got = DynapseSamna(hot, **cal)(x)[0].sum()
    assert abs(got - target) <= 0.05 * target or k in (1 / 64, 64), (k, got, target)
    p0 = cfg["config"].chips[0].cores[0].parameters["SYAM_W3_P"]
    p1 = cal["config"].chips[0].cores[0].parameters["SYAM_W3_P"]
    assert (p0.coarse_value, p0.fine_value) != (p1.coarse_value, p1.fine_value) or k == 1.0
    with pytest.raises(ValueError, match="fires no spike"):
        calibrate_iscale(VirtualBoard(), cfg, net, np.zeros((1, 20, 60)))
    with pytest.raises(ValueError, match="outside the bias range"):
        scale_base_weights(cfg["config"], 1e6)


def test_scale_synaptic_drive_puts_what_the_base_weights_cannot_take_on_the_gains(tutorial):
    from dynapse_nb.board import scale_synaptic_drive, GAIN_BIASES
    from dynapse_nb.biasgen import bias_range, code_to_current
    from dynapse_nb.quantize import BASE_WEIGHT_BIASES
    _, cfg = tutorial
    cur = lambda core, n: code_to_current(n, core.parameters[n].coarse_value, core.parameters[n].fine_value)
    a, b = cfg["config"].chips[0].cores[0], scale_synaptic_drive(cfg["config"], 40.0).chips[0].cores[0]
    used = [n for n in BASE_WEIGHT_BIASES if cur(a, n) > bias_range(n)[0]]
    assert used and any(cur(b, n) / cur(a, n) < 30 for n in used)       # the base weights alone cannot take x40
    for n in used:
        for g in GAIN_BIASES:
            assert cur(b, n) / cur(a, n) * cur(b, g) / cur(a, g) == pytest.approx(40, rel=0.05)
    with pytest.raises(ValueError, match="outside the bias range"):
        scale_synaptic_drive(cfg["config"], 1e7)


def test_calibration_that_cannot_match_says_so(tutorial):
    from dynapse_nb.board import CalibrationWarning
    net, cfg = tutorial
    x = FrozenNoiseDataset(2).input_raster
    n1 = DynapseSamna(VirtualBoard(), **cfg)(x)[0].sum()
    unreachable = lambda r: (np.full((len(r), 500, 2), (n1 + 0.5) / (len(r) * 1000), np.float32), {}, {})
    with pytest.warns(CalibrationWarning, match="no k matches"):
        calibrate_iscale(VirtualBoard(), cfg, unreachable, x, rtol=1e-6, k_tol=0.05)


def test_drive_scale_range_is_what_scale_synaptic_drive_can_make(tutorial):
    "The range's ends can be applied, a step beyond cannot; calibration clamps its last doubling to the end."
    from dynapse_nb.board import drive_scale_range, scale_synaptic_drive
    _, cfg = tutorial
    lo, hi = drive_scale_range(cfg["config"])
    assert 0 < lo < 1 < hi < np.inf
    scale_synaptic_drive(cfg["config"], hi); scale_synaptic_drive(cfg["config"], lo)
    for k in (hi * 1.01, lo / 1.01):
        with pytest.raises(ValueError, match="outside the bias range"):
            scale_synaptic_drive(cfg["config"], k)
    net, _ = tutorial
    x = FrozenNoiseDataset(2).input_raster
    louder = lambda r: (np.full((len(r), 500, 2), 1.0, np.float32), {}, {})   # more spikes than any k can give
    with pytest.raises(ValueError, match=r"no k in \[.*what the biases can make"):
        calibrate_iscale(VirtualBoard(), cfg, louder, x)
