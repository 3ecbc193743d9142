"""Tests of `dynapse_nb.config`: samna's JSON layout (golden files), round trips, validation, diff, hashing."""
import copy, json
from pathlib import Path

import numpy as np
import pytest

from dynapse_nb import config as C
from dynapse_nb.limits import MAX_LISTED
from dynapse_nb.chip import BIASES, Dendrite, MAX_HOP, N_CAM, N_NEURONS, N_TAGS
from dynapse_nb.config import (ConfigError, Dynapse2Chip, Dynapse2Configuration, Dynapse2Core, Dynapse2Destination,
                               Dynapse2Neuron, Dynapse2Parameter, Dynapse2Synapse, NormalGridEvent, ParameterMap,
                               diff, from_json, load, save, to_json)
from config_helpers import random_memory

DATA = Path(__file__).parent / "data" / "samna-json"
GOLDEN = {"golden_destination.json": (Dynapse2Destination, {}),
          "golden_normal_grid_event.json": (NormalGridEvent, {}),
          "golden_config_reduced.json": (Dynapse2Configuration, dict(n_neurons=None))}


def golden_text():
    return (DATA / "golden_config_reduced.json").read_text()


def golden_json():
    return json.loads(golden_text())


def read_error(j, **kw) -> ConfigError:
    "The ConfigError raised when reading JSON value `j` (a dict) as a configuration."
    kw.setdefault("n_neurons", None)
    with pytest.raises(ConfigError) as e:
        from_json(json.dumps(j), **kw)
    return e.value


def randomize(cfg: Dynapse2Configuration, seed=0):
    "Fill every CAM/SRAM entry, latch and core parameter with random valid values."
    rng = np.random.default_rng(seed)
    for chip in cfg.chips:
        for core in chip.cores:
            random_memory(core, rng)
            for p in core.parameters.values():
                p.coarse_value, p.fine_value = int(rng.integers(0, 6)), int(rng.integers(0, 256))
            core.monitored_neuron = int(rng.integers(0, len(core.neurons)))
    return cfg


def plain_tree(obj):
    "samna's JSON tree of `obj` through the generic (slow) path only: the reference for the template writer."
    ctx = C._Ctx()
    tree = {"value0": C._dump_obj(obj, "", ctx)}
    def fix(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, str) and v.startswith("\x00neurons:"):
                    mem = ctx.raws[int(v.split(":")[1])]
                    node[k] = {f"value{i}": C._dump_obj(Dynapse2Neuron._at(mem, i), "", ctx) for i in range(len(mem))}
                else: fix(v)
        elif isinstance(node, list):
            for v in node: fix(v)
    fix(tree)
    return tree


# ---------------------------------------------------------------- golden files
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_round_trip_is_byte_exact(name):
    text = (DATA / name).read_text()
    cls, kw = GOLDEN[name]
    obj = from_json(text, cls, **kw)
    assert isinstance(obj, cls)
    out = to_json(obj)
    assert json.loads(out) == json.loads(text)
    assert out == text
    assert from_json(out, cls, **kw) == obj


def test_golden_values_are_read_into_the_model():
    cfg = from_json(golden_text(), n_neurons=None)
    chip = cfg.chips[0]
    k0 = chip.cores[0]
    assert [len(k.neurons) for k in chip.cores] == [2] * 4
    s = k0.neurons[0].synapses
    assert s[0] == Dynapse2Synapse(Dendrite.ampa, weight=[True, False, False, False], tag=1029)
    assert s[1] == Dynapse2Synapse(Dendrite.gaba, weight=[False, True, False, False], tag=37)
    assert s[2] == Dynapse2Synapse(Dendrite.nmda, stp=True, weight=[True, True, False, False], tag=2047)
    assert k0.parameters["SOIF_GAIN_N"] == Dynapse2Parameter("N", 3, 150, 0, 0, C.ParameterType.n, False)
    assert chip.shared_parameters01["NCCF_CAL_REFBIAS_V"].type == "P"
    assert chip.shared_parameters01["NCCF_CAL_REFBIAS_V"]._switchable_type is True
    assert k0.sadc_enables.soif_mem and k0.sadc_enables.soif_refractory
    assert chip.cores[2].neuron_monitoring_on and chip.cores[2].monitored_neuron == 1
    assert chip.dvs_if.dvs_mode == C.DvsMode.Davis346 and chip.dvs_if.max == C.Vec2Unsigned(345, 259)
    assert chip.dvs_if.copy_hop == C.Vec2(-1, 0) and chip.dvs_if.davis_req_ack_bugfix_delay_ns == 100
    assert chip.bioamps.route == [Dynapse2Destination((True, False, False, False), -1, 0, 5),
                                  Dynapse2Destination((True, False, False, False), 0, 0, 5)]
    assert chip.dvs_if.pixel_destinations[0] == Dynapse2Destination((True, False, False, False), 1, 0, 42)
    assert len(chip.sadc_group_parameters01) == 3 and len(chip.bioamps.channel_parameters) == 8
    assert chip.param_gen1_powerdown is True


def test_fresh_layout_matches_golden_layout():
    "A fresh reduced configuration has the same keys, list sizes, parameter names and addresses as the golden one."
    def skeleton(j):
        if isinstance(j, dict): return {k: skeleton(v) for k, v in j.items()}
        if isinstance(j, list): return [skeleton(v) for v in j]
        return type(j).__name__
    fresh = json.loads(to_json(Dynapse2Configuration.reduced()))
    golden = golden_json()
    assert skeleton(fresh) == skeleton(golden)
    def params(j):
        out = []
        if isinstance(j, dict):
            for v in j.values(): out += params(v)
        elif isinstance(j, list):
            for v in j:
                if isinstance(v, dict) and set(v) == {"key", "value"}:
                    out.append((C.canonical_name(v["key"]), v["value"]["_address"], v["value"]["_cookie"],
                                v["value"]["_initialType"], v["value"]["_switchableType"]))
                else: out += params(v)
        return out
    assert params(fresh) == params(golden)


def test_every_bias_of_the_chip_has_a_home():
    homes = {n for names in C.PARAMETER_NAMES.values() for n in names}
    assert set(BIASES) <= homes
    assert C.PARAMETER_NAMES["core"] == tuple(
        C.canonical_name(kv["key"]) for kv in golden_json()["value0"]["chips"][0]["cores"]["value0"]["parameters"])


# ---------------------------------------------------------------- object model
def test_fresh_full_configuration_counts():
    cfg = Dynapse2Configuration()
    assert len(cfg.chips) == 4
    for chip in cfg.chips:
        assert len(chip.cores) == 4
        for k, core in enumerate(chip.cores):
            assert (core._id, core._cookie, len(core.neurons)) == (k, k, N_NEURONS)
            assert set(core.parameters) == set(C.PARAMETER_NAMES["core"])
            assert core.memory.syn_tag.shape == (256, 64) and core.memory.dest_tag.shape == (256, 4)
            assert core.parameters["SOIF_GAIN_N"]._address == 256 * k
        assert set(chip.global_parameters) == {"R2R_BUFFER_CCB", "R2R_BUFFER_AMPB"}
    n = cfg.chips[3].cores[2].neurons[255]
    assert len(n.synapses) == 64 and len(n.destinations) == 4
    assert n.synapses[63] == Dynapse2Synapse() and n.destinations[3] == Dynapse2Destination()


def test_attribute_api_writes_through():
    cfg = Dynapse2Configuration.reduced(n_neurons=20)
    core = cfg.chips[0].cores[1]
    core.neurons[17].synapses[3].tag = 13
    core.neurons[17].synapses[3].dendrite = Dendrite.gaba
    core.neurons[17].synapses[3].weight[2] = True
    core.neurons[17].synapses[3].stp = True
    core.neurons[17].destinations[1] = Dynapse2Destination((1, 1, 0, 0), 2, -3, 99)
    core.neurons[17].latch_soif_type = True
    m = core.memory
    assert m.syn_tag[17, 3] == 13 and m.syn_dendrite[17, 3] == 512 and m.syn_weight[17, 3].tolist() == [0, 0, 1, 0]
    assert m.syn_stp[17, 3] and m.dest_tag[17, 1] == 99 and m.dest_x_hop[17, 1] == 2
    assert m.latches[17, C.LATCHES.index("latch_soif_type")]
    j = json.loads(to_json(cfg))["value0"]["chips"][0]["cores"]["value1"]["neurons"]["value17"]
    assert j["synapses"]["value3"] == {"dendrite": 512, "stp": True, "weight": {"value0": False, "value1": False,
                                       "value2": True, "value3": False}, "preciseDelay": False,
                                       "mismatchedDelay": False, "tag": 13}
    assert j["destinations"]["value1"] == {"core": {"value0": True, "value1": True, "value2": False, "value3": False},
                                           "xHop": 2, "yHop": -3, "tag": 99}
    assert j["latchSoifType"] is True
    # whole-list assignment and copying neurons between cores
    core.neurons[0].synapses = [Dynapse2Synapse(Dendrite.ampa, tag=i) for i in range(64)]
    assert [s.tag for s in core.neurons[0].synapses] == list(range(64))
    cfg.chips[0].cores[2].neurons[5] = core.neurons[17]
    assert cfg.chips[0].cores[2].neurons[5] == core.neurons[17]
    core.neurons[17].synapses[3].tag = 14                  # a copy, not an alias
    assert cfg.chips[0].cores[2].neurons[5].synapses[3].tag == 13


def test_rockpool_style_parameter_writes():
    core = Dynapse2Core()
    core.parameters["SYAM_W0_P"].coarse_value = 4
    core.parameters["SYAM_W0_P"].fine_value = 80
    core.parameters["SOIF_LEAK_N"] = Dynapse2Parameter("N", 1, 50)
    assert (core.parameters["SYAM_W0_P"].coarse_value, core.parameters["SYAM_W0_P"].fine_value) == (4, 80)
    assert core.parameters["SOIF_LEAK_N"].fine_value == 50


def test_spellings_of_delay_biases():
    cfg = from_json(golden_text(), n_neurons=None)
    params = cfg.chips[0].cores[0].parameters
    assert "SYPD_DYL0_P" in dict.keys(params)               # kept as read, so the file writes back identically
    params["SYPD_DLY0_P"].coarse_value = 2                   # found under the chip's spelling
    assert params["SYPD_DYL0_P"].coarse_value == 2
    params["SYPD_DLY1_P"] = Dynapse2Parameter("P", 1, 1)     # replaces the DYL entry, no second entry
    assert len(params) == 49 and params["SYPD_DYL1_P"].fine_value == 1
    fresh = ParameterMap.default("core")
    assert "SYPD_DLY0_P" in dict.keys(fresh)
    # a map read with one spelling equals a map with the other
    fresh2 = ParameterMap.default("core")
    renamed = ParameterMap("core", {("SYPD_DYL0_P" if k == "SYPD_DLY0_P" else k): v for k, v in fresh2.items()})
    assert renamed == fresh and diff(Dynapse2Core(n_neurons=1, parameters=renamed), Dynapse2Core(n_neurons=1)) == []


def test_soif_refractory_accepts_both_json_spellings():
    j = golden_json()
    se = j["value0"]["chips"][0]["cores"]["value0"]["sadcEnables"]
    se["SoifRefractory"] = se.pop("SoifRefectory")
    cfg = from_json(json.dumps(j), n_neurons=None)
    assert cfg.chips[0].cores[0].sadc_enables.soif_refractory is True
    assert '"SoifRefectory": true' in to_json(cfg)           # written in the golden spelling


def test_deepcopy_is_independent():
    a = randomize(Dynapse2Configuration.reduced(n_neurons=4))
    b = copy.deepcopy(a)
    assert a == b
    b.chips[0].cores[0].neurons[0].synapses[0].tag = (a.chips[0].cores[0].neurons[0].synapses[0].tag + 1) % N_TAGS
    b.chips[0].cores[0].parameters["SOIF_GAIN_N"].fine_value = (a.chips[0].cores[0].parameters["SOIF_GAIN_N"].fine_value + 1) % 256
    assert a != b and len(diff(a, b)) == 2


# ---------------------------------------------------------------- writer == json.dumps, round trips
@pytest.mark.parametrize("indent", [4, 2, 1, 0, None])
def test_template_writer_equals_json_dumps(indent):
    cfg = randomize(Dynapse2Configuration.reduced(n_chips=2, n_neurons=7), seed=indent or 99)
    assert to_json(cfg, indent=indent) == json.dumps(plain_tree(cfg), indent=indent)


def test_standalone_parts_round_trip():
    cfg = randomize(Dynapse2Configuration.reduced(n_neurons=3))
    core, neuron = cfg.chips[0].cores[2], cfg.chips[0].cores[2].neurons[1]
    syn, dest = neuron.synapses[5], neuron.destinations[2]
    for obj, kw in ((cfg.chips[0], dict(n_neurons=None)), (core, dict(n_neurons=3)), (neuron, {}), (syn, {}),
                    (dest, {}), (core.parameters["SOIF_DC_P"], {}), (cfg.chips[0].dvs_if, {}), (cfg.chips[0].bioamps, {})):
        text = to_json(obj)
        assert text.startswith('{\n    "value0": {')
        back = from_json(text, type(obj) if not isinstance(obj, Dynapse2Synapse) else Dynapse2Synapse, **kw)
        assert back == obj and to_json(back) == text


def test_full_chip_dense_round_trip():
    cfg = randomize(Dynapse2Configuration([Dynapse2Chip()]), seed=3)    # one full chip: 65,536 synapses
    text = to_json(cfg)
    back = from_json(text)
    assert back == cfg and diff(cfg, back) == []
    assert to_json(back) == text
    assert from_json(to_json(cfg, indent=None)) == cfg


def test_save_and_load(tmp_path):
    cfg = randomize(Dynapse2Configuration.reduced())
    p = save(cfg, tmp_path / "cfg.json")
    assert p.read_text() == to_json(cfg)
    assert load(p, n_neurons=None) == cfg
    assert load(save(cfg.chips[0].cores[0], tmp_path / "core.json"), Dynapse2Core, n_neurons=2) == cfg.chips[0].cores[0]
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.json")


# ---------------------------------------------------------------- destination hash
def test_destination_hash_is_the_24_bit_code():
    d = Dynapse2Destination((True, False, True, False), -1, 1, 1234)
    assert hash(d) == 0b0101 << 20 | 6 << 16 | 8 << 12 | 1234
    assert Dynapse2Destination((True, False, False, False), 0, 0, 0).__hash__() == 1 << 20 | 7 << 16 | 7 << 12
    rng = np.random.default_rng(1)
    seen = {}
    for _ in range(2000):
        d = Dynapse2Destination(tuple(bool(b) for b in rng.random(4) < 0.5), int(rng.integers(-7, 8)),
                                int(rng.integers(-7, 8)), int(rng.integers(0, N_TAGS)))
        h = hash(d)
        assert 0 <= h < 2**24 and Dynapse2Destination.from_hash(h) == d
        assert seen.setdefault(h, d) == d                  # equal codes only for equal destinations
    channel_map = {Dynapse2Destination((1, 1, 1, 1), -7, -7, t): t for t in range(10)}
    assert channel_map[Dynapse2Destination((True,) * 4, -7, -7, 3)] == 3
    with pytest.raises(ValueError, match="24-bit"): Dynapse2Destination.from_hash(-1)
    with pytest.raises(Exception, match="cannot assign"): d.tag = 5


# ---------------------------------------------------------------- validation on read: every error path
def test_malformed_json():
    e = pytest.raises(ConfigError, from_json, golden_text()[:-50], n_neurons=None).value
    assert "malformed JSON" in str(e) and e.count == 1
    with pytest.raises(ConfigError, match="malformed JSON"): from_json("")


@pytest.mark.parametrize("text", ['{"chips": []}', "[]", "5", '{"value0": {}, "value1": {}}', '"value0"'])
def test_outer_wrapper_is_required(text):
    with pytest.raises(ConfigError, match=r'must be \{"value0": \{...\}\}'): from_json(text)


def test_bad_arguments():
    with pytest.raises(TypeError, match="samna classes"): from_json(golden_text(), dict)
    with pytest.raises(TypeError, match="samna classes"): from_json(golden_text(), C._SynapseView)
    with pytest.raises(ValueError, match="n_neurons = 300"): from_json(golden_text(), n_neurons=300)
    with pytest.raises(TypeError, match="JSON text"): from_json({"value0": {}})
    with pytest.raises(TypeError, match="samna structure"): to_json({"chips": []})
    with pytest.raises(TypeError, match="samna structure"): to_json(Dynapse2Configuration)
    with pytest.raises(ValueError, match="indent"): to_json(Dynapse2Destination(), indent=-1)
    with pytest.raises(TypeError, match="same class"): diff(Dynapse2Core(), Dynapse2Configuration())


def core_j(j, k=0): return j["value0"]["chips"][0]["cores"][f"value{k}"]
def neuron_j(j, k=0, n=0): return core_j(j, k)["neurons"][f"value{n}"]


def test_wrong_counts():
    j = golden_json(); del neuron_j(j, 1, 1)["synapses"]["value63"]
    assert read_error(j).problems == [
        "chips[0].cores[1].neurons[1].synapses: has 63 entries, expected 64 (synapses (CAM entries) per neuron) "
        "[JSON path: value0.chips[0].cores.value1.neurons.value1.synapses]"]
    j = golden_json(); neuron_j(j)["synapses"]["value64"] = neuron_j(j)["synapses"]["value0"]
    assert "has 65 entries, expected 64" in str(read_error(j))
    j = golden_json(); neuron_j(j)["destinations"]["value4"] = neuron_j(j)["destinations"]["value0"]
    assert "neurons[0].destinations: has 5 entries, expected 4 (destinations (SRAM entries) per neuron)" in str(read_error(j))
    j = golden_json(); del neuron_j(j)["synapses"]["value2"]["weight"]["value3"]
    assert "neurons[0].synapses[2].weight: has 3 entries, expected 4 (weight mask bits)" in str(read_error(j))
    j = golden_json(); del neuron_j(j)["destinations"]["value0"]["core"]["value3"]
    assert "destinations[0].core: has 3 entries, expected 4 (core mask bits)" in str(read_error(j))
    j = golden_json(); del j["value0"]["chips"][0]["cores"]["value3"]
    assert read_error(j).problems == ["chips[0].cores: has 3 entries, expected 4 (cores per chip) [JSON path: value0.chips[0].cores]"]
    assert "has 2 neurons, expected 256" in str(pytest.raises(ConfigError, from_json, golden_text()).value)
    assert "has 2 neurons, expected 3" in str(pytest.raises(ConfigError, from_json, golden_text(), n_neurons=3).value)
    j = golden_json(); core_j(j)["neurons"] = {}
    assert "has 0 neurons, expected 1..256" in str(read_error(j))


def test_keys_in_index_order():
    j = golden_json(); syns = neuron_j(j)["synapses"]
    neuron_j(j)["synapses"] = {"value1": syns["value1"], "value0": syns["value0"], **{k: v for k, v in syns.items() if k not in ("value0", "value1")}}
    assert "synapses: keys must be value0..value63 in index order; key 0 is 'value1'" in str(read_error(j))
    j = golden_json(); neurons = core_j(j, 2)["neurons"]
    core_j(j, 2)["neurons"] = {"n0": neurons["value0"], "value1": neurons["value1"]}
    assert "cores[2].neurons: keys must be value0..value1 in index order; key 0 is 'n0'" in str(read_error(j))


def test_value_ranges():
    j = golden_json()
    neuron_j(j, 1, 1)["synapses"]["value3"]["tag"] = 5000
    neuron_j(j, 0, 0)["synapses"]["value0"]["tag"] = -1
    neuron_j(j, 0, 1)["destinations"]["value2"]["tag"] = 2048
    neuron_j(j, 0, 0)["destinations"]["value2"]["xHop"] = 8
    neuron_j(j, 3, 1)["destinations"]["value0"]["yHop"] = -9
    core_j(j, 2)["parameters"][5]["value"]["coarseValue"] = 6
    core_j(j, 2)["parameters"][6]["value"]["fineValue"] = 256
    j["value0"]["chips"][0]["globalParameters"][0]["value"]["coarseValue"] = -1
    core_j(j, 1)["monitoredNeuron"] = 256
    e = read_error(j)
    assert e.count == 9
    assert set(e.problems) == {
        "chips[0].cores[1].neurons[1].synapses[3].tag = 5000: outside 0..2047 (11-bit tag) "
        "[JSON path: value0.chips[0].cores.value1.neurons.value1.synapses.value3.tag]",
        "chips[0].cores[0].neurons[0].synapses[0].tag = -1: outside 0..2047 (11-bit tag) "
        "[JSON path: value0.chips[0].cores.value0.neurons.value0.synapses.value0.tag]",
        "chips[0].cores[0].neurons[1].destinations[2].tag = 2048: outside 0..2047 (11-bit tag) "
        "[JSON path: value0.chips[0].cores.value0.neurons.value1.destinations.value2.tag]",
        "chips[0].cores[0].neurons[0].destinations[2].x_hop = 8: outside -7..7 (chip hops) "
        "[JSON path: value0.chips[0].cores.value0.neurons.value0.destinations.value2.xHop]",
        "chips[0].cores[3].neurons[1].destinations[0].y_hop = -9: outside -7..7 (chip hops) "
        "[JSON path: value0.chips[0].cores.value3.neurons.value1.destinations.value0.yHop]",
        "chips[0].cores[2].parameters['SOIF_CC_N'].coarse_value = 6: outside 0..5 (coarse code) "
        "[JSON path: value0.chips[0].cores.value2.parameters[5].value.coarseValue]",
        "chips[0].cores[2].parameters['SOAD_PWTAU_N'].fine_value = 256: outside 0..255 (fine code) "
        "[JSON path: value0.chips[0].cores.value2.parameters[6].value.fineValue]",
        "chips[0].global_parameters['R2R_BUFFER_CCB'].coarse_value = -1: outside 0..5 (coarse code) "
        "[JSON path: value0.chips[0].globalParameters[0].value.coarseValue]",
        "chips[0].cores[1].monitored_neuron = 256: outside 0..255 (neuron index in the core) "
        "[JSON path: value0.chips[0].cores.value1.monitoredNeuron]"}


def test_unknown_dendrite_codes():
    j = golden_json()
    neuron_j(j, 0, 1)["synapses"]["value7"]["dendrite"] = 3
    neuron_j(j, 2, 0)["synapses"]["value0"]["dendrite"] = 2048
    e = read_error(j)
    assert e.count == 2
    assert e.problems[0].startswith("chips[0].cores[0].neurons[1].synapses[7].dendrite = 3: not a Dendrite code (valid: none=0, ampa=1024")
    assert e.problems[1].startswith("chips[0].cores[2].neurons[0].synapses[0].dendrite = 2048")


def test_unknown_and_misplaced_bias_names():
    j = golden_json()
    core_j(j, 0)["parameters"][1]["key"] = "SOIF_LEAK"                       # typo
    core_j(j, 1)["parameters"][0]["key"] = "R2R_BUFFER_CCB"                  # a global bias in a core map
    j["value0"]["chips"][0]["sharedParameters01"][0]["key"] = "FOO_BAR"      # nothing like it
    j["value0"]["chips"][0]["bioamps"]["channelParameters"]["value2"][0]["key"] = "BADCTHUU"
    e = read_error(j)
    text = str(e)
    assert "chips[0].cores[0].parameters['SOIF_LEAK']: unknown parameter 'SOIF_LEAK' for a core's parameters; did you mean SOIF_LEAK_N" in text
    assert "chips[0].cores[1].parameters['R2R_BUFFER_CCB']: unknown parameter 'R2R_BUFFER_CCB' for a core's parameters; it belongs in a chip's global_parameters" in text
    assert "chips[0].shared_parameters01['FOO_BAR']: unknown parameter 'FOO_BAR' for shared_parameters01/23; known names: LBWR_VB_P" in text
    assert "chips[0].bioamps.channel_parameters[2]['BADCTHUU']" in text
    assert "chips[0].cores[0].parameters: missing parameters ['SOIF_LEAK_N']" in text
    assert e.count == 8          # 4 unknown names + the 4 names each map now lacks


def test_parameter_map_shape_errors():
    j = golden_json(); core_j(j)["parameters"].append(core_j(j)["parameters"][3])
    assert "parameters['SOIF_DC_P']: given twice" in str(read_error(j))
    j = golden_json(); core_j(j)["parameters"][0] = {"key": "SOIF_GAIN_N"}
    assert 'parameters[0] = {object with 1 keys}: expected {"key": name, "value": parameter}' in str(read_error(j))
    j = golden_json(); core_j(j)["parameters"] = {}
    assert 'parameters = {object with 0 keys}: expected an array of {"key": name, "value": parameter} objects' in str(read_error(j))
    j = golden_json(); core_j(j)["parameters"][0]["value"]["type"] = 1
    assert "parameters['SOIF_GAIN_N'].type = 1: expected 78 ('N') or 80 ('P')" in str(read_error(j))
    j = golden_json(); core_j(j)["parameters"][0]["value"]["_initialType"] = 2
    assert "_initial_type = 2: not a ParameterType code" in str(read_error(j))
    j = golden_json(); j["value0"]["chips"][0]["dvsIf"]["dvsMode"] = 1
    assert "chips[0].dvs_if.dvs_mode = 1: not a DvsMode code (valid: Dvs128=0, Davis240c=2, Davis346=4)" in str(read_error(j))


def test_types_missing_and_unexpected_keys():
    j = golden_json()
    neuron_j(j)["synapses"]["value1"]["stp"] = 0
    neuron_j(j)["synapses"]["value2"]["tag"] = 7.0
    neuron_j(j)["synapses"]["value3"]["weight"]["value1"] = "true"
    neuron_j(j, 1)["destinations"]["value3"]["core"]["value0"] = None
    neuron_j(j, 2)["latchSoDc"] = 1
    core_j(j, 3)["_id"] = "3"
    j["value0"]["chips"][0]["paramGen0Powerdown"] = "no"
    e = read_error(j)
    assert set(e.problems) == {
        "chips[0].cores[0].neurons[0].synapses[1].stp = 0: expected true or false "
        "[JSON path: value0.chips[0].cores.value0.neurons.value0.synapses.value1.stp]",
        "chips[0].cores[0].neurons[0].synapses[2].tag = 7.0: expected an integer "
        "[JSON path: value0.chips[0].cores.value0.neurons.value0.synapses.value2.tag]",
        'chips[0].cores[0].neurons[0].synapses[3].weight[1] = "true": expected true or false '
        "[JSON path: value0.chips[0].cores.value0.neurons.value0.synapses.value3.weight.value1]",
        "chips[0].cores[1].neurons[0].destinations[3].core[0] = null: expected true or false "
        "[JSON path: value0.chips[0].cores.value1.neurons.value0.destinations.value3.core.value0]",
        "chips[0].cores[2].neurons[0].latch_so_dc = 1: expected true or false "
        "[JSON path: value0.chips[0].cores.value2.neurons.value0.latchSoDc]",
        'chips[0].cores[3]._id = "3": expected an integer [JSON path: value0.chips[0].cores.value3._id]',
        'chips[0].param_gen0_powerdown = "no": expected true or false [JSON path: value0.chips[0].paramGen0Powerdown]'}
    j = golden_json()
    del neuron_j(j)["synapses"]["value5"]["tag"]
    neuron_j(j, 1)["synapses"]["value0"]["color"] = "red"
    del core_j(j, 2)["neuronMonitoringOn"]
    j["value0"]["chips"][0]["dvsIf"]["zoom"] = 2
    j["value0"]["chips"][0]["bioamps"]["route"]["value1"] = 17
    e = read_error(j)
    assert set(e.problems) == {
        "chips[0].cores[0].neurons[0].synapses[5].tag: missing (expected the key 'tag') "
        "[JSON path: value0.chips[0].cores.value0.neurons.value0.synapses.value5.tag]",
        "chips[0].cores[1].neurons[0].synapses[0]: unexpected key 'color' in a Dynapse2Synapse "
        "[JSON path: value0.chips[0].cores.value1.neurons.value0.synapses.value0.color]",
        "chips[0].cores[2].neuron_monitoring_on: missing (expected the key 'neuronMonitoringOn') "
        "[JSON path: value0.chips[0].cores.value2.neuronMonitoringOn]",
        "chips[0].dvs_if: unexpected key 'zoom' in a DvsInterface [JSON path: value0.chips[0].dvsIf.zoom]",
        "chips[0].bioamps.route[1] = 17: expected a JSON object (a Dynapse2Destination) "
        "[JSON path: value0.chips[0].bioamps.route.value1]"}
    j = golden_json(); j["value0"]["chips"] = {}
    assert read_error(j).problems == ["chips = {object with 0 keys}: expected an array of chips [JSON path: value0.chips]"]
    j = golden_json(); j["value0"]["chips"][0]["dvsIf"]["filter"] = {}
    assert read_error(j).problems == ["chips[0].dvs_if.filter = {object with 0 keys}: expected an array "
                                      "[JSON path: value0.chips[0].dvsIf.filter]"]
    j = golden_json(); j["value0"]["chips"][0]["cores"]["value0"]["sadcEnables"]["SoifRefractory"] = True
    assert read_error(j).problems == ["chips[0].cores[0].sadc_enables.soif_refractory: given twice, as ['SoifRefectory', "
                                      "'SoifRefractory'] [JSON path: value0.chips[0].cores.value0.sadcEnables.SoifRefectory]"]


def test_regular_and_irregular_neurons_reported_together():
    "A malformed neuron goes through the generic reader; value problems of the other neurons are still reported."
    j = golden_json()
    del neuron_j(j, 0, 0)["synapses"]["value10"]
    neuron_j(j, 0, 1)["synapses"]["value0"]["tag"] = 9999
    neuron_j(j, 0, 0)["destinations"]["value0"]["xHop"] = 99     # inside the malformed neuron
    e = read_error(j)
    assert set(e.problems) == {
        "chips[0].cores[0].neurons[0].synapses: has 63 entries, expected 64 (synapses (CAM entries) per neuron) "
        "[JSON path: value0.chips[0].cores.value0.neurons.value0.synapses]",
        "chips[0].cores[0].neurons[0].destinations[0].x_hop = 99: outside -7..7 (chip hops) "
        "[JSON path: value0.chips[0].cores.value0.neurons.value0.destinations.value0.xHop]",
        "chips[0].cores[0].neurons[1].synapses[0].tag = 9999: outside 0..2047 (11-bit tag) "
        "[JSON path: value0.chips[0].cores.value0.neurons.value1.synapses.value0.tag]"}


def test_many_problems_are_counted_and_capped():
    cfg = Dynapse2Configuration.reduced(n_neurons=100)
    j = json.loads(to_json(cfg))
    for n in range(100):
        for s in range(N_CAM):
            j["value0"]["chips"][0]["cores"]["value0"]["neurons"][f"value{n}"]["synapses"][f"value{s}"]["tag"] = 4096
    e = read_error(j)
    assert e.count == 6400 and len(e.problems) == C.KEPT_PROBLEMS
    assert str(e).count("\n") == MAX_LISTED + 1 and str(e).endswith(f"... and {6400 - MAX_LISTED} more")
    assert e.problems[0] == ("chips[0].cores[0].neurons[0].synapses[0].tag = 4096: outside 0..2047 (11-bit tag) "
                             "[JSON path: value0.chips[0].cores.value0.neurons.value0.synapses.value0.tag]")


def test_huge_integers_are_range_errors():
    j = golden_json(); neuron_j(j)["synapses"]["value4"]["tag"] = 2**70; neuron_j(j)["destinations"]["value1"]["yHop"] = -2**80
    e = read_error(j)
    assert e.count == 2 and all("outside" in p for p in e.problems)


def test_load_names_the_file(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(golden_text().replace('"tag": 1029', '"tag": 4096'))
    with pytest.raises(ConfigError, match=f"cannot read {p} as a Dynapse2Configuration") as e:
        load(p, n_neurons=None)
    assert "synapses[0].tag = 4096" in str(e.value)


# ---------------------------------------------------------------- validation on assignment and on write
def test_assignment_errors():
    cfg = Dynapse2Configuration.reduced()
    core, syn = cfg.chips[0].cores[0], cfg.chips[0].cores[0].neurons[0].synapses[0]
    cases = [
        (lambda: setattr(syn, "tag", 2048), ValueError, "tag = 2048: outside 0..2047"),
        (lambda: setattr(syn, "tag", "5"), TypeError, "expected an integer"),
        (lambda: setattr(syn, "dendrite", 100), ValueError, "not a Dendrite code"),
        (lambda: setattr(syn, "dendrite", "glutamate"), ValueError, "not a Dendrite code"),
        (lambda: setattr(syn, "weight", [True, False]), ValueError, "has 2 entries, expected 4 (weight mask bits)"),
        (lambda: syn.weight.__setitem__(1, 3), TypeError, "weight[1] = 3: expected a bool"),
        (lambda: setattr(syn, "stp", None), TypeError, "stp = None: expected a bool"),
        (lambda: Dynapse2Destination(x_hop=8), ValueError, "x_hop = 8: outside -7..7"),
        (lambda: Dynapse2Destination(y_hop=-8), ValueError, "y_hop = -8: outside -7..7"),
        (lambda: Dynapse2Destination(tag=-1), ValueError, "tag = -1: outside 0..2047"),
        (lambda: Dynapse2Destination(core=(True,) * 5), ValueError, "has 5 entries, expected 4"),
        (lambda: Dynapse2Parameter(coarse_value=6), ValueError, "coarse_value = 6: outside 0..5"),
        (lambda: Dynapse2Parameter(fine_value=-1), ValueError, "fine_value = -1: outside 0..255"),
        (lambda: Dynapse2Parameter(type="n"), ValueError, "expected 'N' or 'P'"),
        (lambda: core.parameters.__setitem__("SOIF_GAIN", Dynapse2Parameter()), KeyError, "did you mean SOIF_GAIN_N"),
        (lambda: core.parameters.__setitem__("SOIF_GAIN_N", 5), TypeError, "Dynapse2Parameter objects"),
        (lambda: core.parameters["NCCF_PWLK_P"], KeyError, "belongs in sadc_group_parameters01/23"),
        (lambda: ParameterMap("cores"), ValueError, "unknown parameter group"),
        (lambda: setattr(core, "monitored_neuron", -1), ValueError, "outside 0..255"),
        (lambda: setattr(core, "neurons", [1, 2]), TypeError, "expected a list of Dynapse2Neuron"),
        (lambda: setattr(core, "neurons", [Dynapse2Neuron()] * 257), ValueError, "at most 256"),
        (lambda: setattr(core, "sadc_enables", {}), TypeError, "expected a CoreSadcEnables"),
        (lambda: setattr(core, "neurons_on", True), AttributeError, "has no field 'neurons_on'"),
        (lambda: setattr(cfg.chips[0], "cores", []), ValueError, "has 0 entries, expected 4 (cores per chip)"),
        (lambda: setattr(cfg.chips[0].dvs_if, "dvs_mode", 3), ValueError, "not a DvsMode code"),
        (lambda: setattr(cfg.chips[0].dvs_if, "origin", C.Vec2Unsigned(-1, 0)), ValueError, "x = -1: outside 0..4294967295"),
        (lambda: setattr(cfg, "chips", None), TypeError, "expected a list"),
        (lambda: NormalGridEvent(timestamp=2**32), ValueError, "outside 0..4294967295"),
        (lambda: core.neurons[2], IndexError, "neuron index 2 is out of range 0..1"),
        (lambda: core.neurons[0].synapses["3"], TypeError, "synapse index must be an integer"),
        (lambda: core.neurons[0].destinations[4], IndexError, "destination index 4 is out of range 0..3"),
        (lambda: setattr(core.neurons[0], "destinations", []), ValueError, "exactly 4 destinations"),
        (lambda: core.neurons[0].synapses.__setitem__(slice(0, 2), [Dynapse2Synapse()]), ValueError, "exactly 2 synapses"),
        (lambda: Dynapse2Neuron(latch_typo=True), TypeError, "no field 'latch_typo'"),
        (lambda: C.CoreMemory(0), ValueError, "1..256"),
    ]
    for f, exc, msg in cases:
        with pytest.raises(exc, match=None) as e:
            f()
        assert msg in str(e.value), (msg, str(e.value))


def test_write_errors_are_collected_and_nothing_is_written(tmp_path):
    cfg = Dynapse2Configuration.reduced()
    m = cfg.chips[0].cores[3].memory
    m.syn_tag[0, 0], m.syn_dendrite[1, 63], m.dest_y_hop[1, 3], m.dest_tag[0, 2] = 3000, 5, -8, 4000
    cfg.chips[0].bioamps.route[1] = None
    cfg.chips[0].dvs_if.pixel_destinations.append(Dynapse2Destination())
    del cfg.chips[0].cores[1].parameters["SOIF_GAIN_N"]
    cfg.chips[0].sadc_group_parameters23[1] = "x"
    with pytest.raises(ConfigError) as e:
        save(cfg, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()
    assert set(e.value.problems) == {
        "chips[0].cores[3].neurons[0].synapses[0].tag = 3000: outside 0..2047 (11-bit tag)",
        "chips[0].cores[3].neurons[1].synapses[63].dendrite = 5: not a Dendrite code (valid: none=0, ampa=1024, gaba=512, nmda=256, shunt=128)",
        "chips[0].cores[3].neurons[1].destinations[3].y_hop = -8: outside -7..7 (chip hops)",
        "chips[0].cores[3].neurons[0].destinations[2].tag = 4000: outside 0..2047 (11-bit tag)",
        "chips[0].bioamps.route[1] = None: expected a Dynapse2Destination",
        "chips[0].dvs_if.pixel_destinations: has 3 entries, expected 2 (DVS pixel destinations)",
        "chips[0].cores[1].parameters: missing parameters ['SOIF_GAIN_N'] (every name of a core's parameters is required)",
        "chips[0].sadc_group_parameters23[1] = 'x': expected a ParameterMap of group 'sadc_group'"}
    assert "nothing was written" in str(e.value)
    m.syn_tag = np.zeros((2, 63), np.int16)
    with pytest.raises(ConfigError, match=r"memory.syn_tag: has shape \(2, 63\), expected \(2, 64\)"):
        to_json(cfg.chips[0].cores[3])


# ---------------------------------------------------------------- diff and equality
def test_diff_lines():
    a = Dynapse2Configuration.reduced(n_neurons=20)
    b = copy.deepcopy(a)
    assert diff(a, b) == [] and a == b
    a.chips[0].cores[1].neurons[17].synapses[3].tag = 12
    b.chips[0].cores[1].neurons[17].synapses[3].tag = 13
    b.chips[0].cores[1].neurons[17].synapses[3].dendrite = Dendrite.ampa
    a.chips[0].cores[2].parameters["SOIF_LEAK_N"].fine_value = 29
    b.chips[0].cores[2].parameters["SOIF_LEAK_N"].fine_value = 30
    b.chips[0].cores[2].parameters["SOIF_LEAK_N"].type = "P"
    b.chips[0].cores[0].sadc_enables.sy_w42 = True
    b.chips[0].cores[0].monitored_neuron = 5
    b.chips[0].global_parameters["R2R_BUFFER_AMPB"].coarse_value = 5
    b.chips[0].sadc_group_parameters01[2]["NCCF_HYS_P"].fine_value = 7
    b.chips[0].dvs_if.max = C.Vec2Unsigned(127, 127)
    b.chips[0].bioamps.channel_parameters[7]["BF3VQ"].coarse_value = 1
    b.chips[0].param_gen0_powerdown = True
    assert diff(a, b) == [
        "chip 0 core 0: monitored_neuron 0 -> 5",
        "chip 0 core 0 sadc_enables: sy_w42 False -> True",
        "chip 0 core 1 neuron 17 synapse 3: dendrite none -> ampa",
        "chip 0 core 1 neuron 17 synapse 3: tag 12 -> 13",
        "chip 0 core 2 parameter SOIF_LEAK_N: (0, 29) -> (0, 30)",
        "chip 0 core 2 parameter SOIF_LEAK_N: type 'N' -> 'P'",
        "chip 0 global_parameters parameter R2R_BUFFER_AMPB: (0, 0) -> (5, 0)",
        "chip 0 sadc_group_parameters01[2] parameter NCCF_HYS_P: (0, 0) -> (0, 7)",
        "chip 0 dvs_if max: x 0 -> 127",
        "chip 0 dvs_if max: y 0 -> 127",
        "chip 0 bioamps channel_parameters[7] parameter BF3VQ: (0, 0) -> (1, 0)",
        "chip 0: param_gen0_powerdown False -> True"]
    assert a != b
    del b.chips[0].cores[3].parameters["SOAD_W_N"]
    assert "chip 0 core 3 parameter SOAD_W_N: present -> missing" in diff(a, b)
    assert diff(Dynapse2Configuration.reduced(1), Dynapse2Configuration.reduced(3)) == ["chips has 1 -> 3 entries"]


def test_equality_is_empty_diff_on_random_changes():
    rng = np.random.default_rng(5)
    base = randomize(Dynapse2Configuration.reduced(n_neurons=8), seed=5)
    for _ in range(30):
        other = copy.deepcopy(base)
        k, n, s = (int(x) for x in (rng.integers(4), rng.integers(8), rng.integers(64)))
        syn = other.chips[0].cores[k].neurons[n].synapses[s]
        syn.tag = (syn.tag + int(rng.integers(1, N_TAGS))) % N_TAGS
        d = diff(base, other)
        assert other != base and len(d) == 1 and d[0].startswith(f"chip 0 core {k} neuron {n} synapse {s}: tag ")
        assert from_json(to_json(other), n_neurons=8) == other


# ---------------------------------------------------------------- no silent wrong answer
class Pairs(list):
    "A JSON object given as (key, value) pairs, so a test can write one with a duplicated key."


def dumps(node) -> str:
    "Compact JSON text of a tree whose objects may be `Pairs` (duplicated keys allowed)."
    if isinstance(node, Pairs): return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in node) + "}"
    if isinstance(node, dict): return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in node.items()) + "}"
    if isinstance(node, list): return "[" + ", ".join(dumps(v) for v in node) + "]"
    return json.dumps(node)


def with_duplicate(j, path, key, value):
    "A copy of tree `j` where the object at `path` (keys/indices) gets `key` (once more if it has it), with `value`."
    j = copy.deepcopy(j)
    node = j
    for k in path[:-1]: node = node[k]
    obj = node[path[-1]]
    node[path[-1]] = Pairs([*obj.items(), *([] if key in obj else [(key, value)]), (key, value)])
    return dumps(j)


SYN3 = ("value0", "chips", 0, "cores", "value1", "neurons", "value1", "synapses", "value3")


@pytest.mark.parametrize("path, key, value, obj_path, json_path", [
    (SYN3, "tag", 7, "chips[0].cores[1].neurons[1].synapses[3].tag",
     "value0.chips[0].cores.value1.neurons.value1.synapses.value3.tag"),
    (SYN3, "tag", golden_json()["value0"]["chips"][0]["cores"]["value1"]["neurons"]["value1"]["synapses"]["value3"]["tag"],
     "chips[0].cores[1].neurons[1].synapses[3].tag", "value0.chips[0].cores.value1.neurons.value1.synapses.value3.tag"),
    (("value0", "chips", 0, "cores", "value2", "parameters", 5, "value"), "coarseValue", 1,
     "chips[0].cores[2].parameters['SOIF_CC_N'].coarse_value", "value0.chips[0].cores.value2.parameters[5].value.coarseValue"),
    (("value0", "chips", 0, "cores", "value0", "neurons"), "value1", {}, "chips[0].cores[0].neurons[1]",
     "value0.chips[0].cores.value0.neurons.value1"),
    (("value0", "chips", 0), "paramGen0Powerdown", True, "chips[0].param_gen0_powerdown", "value0.chips[0].paramGen0Powerdown"),
    (("value0", "chips", 0, "dvsIf"), "zoom", 1, "chips[0].dvs_if", 'value0.chips[0].dvsIf.zoom'),
], ids=["synapse tag", "synapse tag, same value", "parameter code", "neuron", "chip flag", "unknown key"])
def test_duplicate_keys_are_refused(path, key, value, obj_path, json_path):
    "A key given twice in one object is refused (even with the same value), named by both paths."
    text = with_duplicate(golden_json(), path, key, value)
    e = pytest.raises(ConfigError, from_json, text, n_neurons=None).value
    dup = [p for p in e.problems if "appears 2 times" in p]
    assert len(dup) == 1, e.problems
    assert dup[0].startswith(obj_path) and dup[0].endswith(f"[JSON path: {json_path}]"), dup[0]


def test_duplicate_wrapper_key_is_refused():
    text = golden_text()
    e = pytest.raises(ConfigError, from_json, '{"value0": 1, ' + text[1:], n_neurons=None).value
    assert e.count == 1 and "the key 'value0' appears 2 times" in e.problems[0]
    d = to_json(Dynapse2Destination(tag=5), None)
    e = pytest.raises(ConfigError, from_json, d[:-2] + ', "tag": 6}}', Dynapse2Destination).value
    assert e.problems == ["tag: the key 'tag' appears 2 times in one JSON object; readers disagree on which one "
                          "counts (Python's keeps the last, others the first): keep one [JSON path: value0.tag]"]


@pytest.mark.parametrize("key, n, path, what", [
    ("channelParameters", 80, "chips[0].bioamps.channel_parameters", "has 80 entries, expected 8 (bio-amplifier channels)"),
    ("route", 3, "chips[0].bioamps.route", "has 3 entries, expected 2 (bio-amplifier routes)"),
    ("sadcGroupParameters01", 30, "chips[0].sadc_group_parameters01", "has 30 entries, expected 3 (SADC groups)"),
    ("sadcGroupParameters23", 2, "chips[0].sadc_group_parameters23", "has 2 entries, expected 3 (SADC groups)"),
    ("pixelDestinations", 20, "chips[0].dvs_if.pixel_destinations", "has 20 entries, expected 2 (DVS pixel destinations)"),
])
def test_fixed_size_blocks_have_samna_sizes(key, n, path, what):
    "{valueN} blocks are samna's fixed-size arrays: only the golden file's count is read."
    j = golden_json(); chip = j["value0"]["chips"][0]
    parent = chip["bioamps"] if key in ("channelParameters", "route") else chip["dvsIf"] if key == "pixelDestinations" else chip
    first = parent[key]["value0"]
    parent[key] = {f"value{i}": copy.deepcopy(first) for i in range(n)}
    jkey = {"channelParameters": "bioamps.channelParameters", "route": "bioamps.route",
            "pixelDestinations": "dvsIf.pixelDestinations"}.get(key, key)
    assert read_error(j).problems == [f"{path}: {what} [JSON path: value0.chips[0].{jkey}]"]


def test_fixed_sizes_on_assignment_and_write():
    cfg = Dynapse2Configuration.reduced()
    chip = cfg.chips[0]
    with pytest.raises(ValueError, match=r"route: has 3 entries, expected 2 \(bio-amplifier routes\)"):
        chip.bioamps.route = [Dynapse2Destination()] * 3
    with pytest.raises(ValueError, match=r"has 4 entries, expected 3 \(SADC groups\)"):
        chip.sadc_group_parameters01 = [C.ParameterMap.default("sadc_group")] * 4
    chip.dvs_if.pixel_destinations.append(Dynapse2Destination())
    with pytest.raises(ConfigError, match=r"chips\[0\].dvs_if.pixel_destinations: has 3 entries, expected 2"):
        to_json(cfg)


def test_deep_nesting_is_a_config_error():
    for text in ('{"value0": ' + "[" * 100_000 + "]" * 100_000 + "}", "[" * 100_000 + "]" * 100_000):
        e = pytest.raises(ConfigError, from_json, text).value
        assert "nested too deeply" in str(e)
    j = golden_json(); deep = []
    for _ in range(900): deep = [deep]          # readable by json.loads, too deep for a message's json.dumps
    j["value0"]["chips"][0]["paramGen0Powerdown"] = deep
    text = json.dumps(j)
    e = pytest.raises(ConfigError, from_json, text, n_neurons=None).value
    assert e.problems[0].startswith("chips[0].param_gen0_powerdown = [[[") and "expected true or false" in e.problems[0]


def test_huge_integer_text_is_a_config_error():
    text = golden_text().replace('"tag": 1029', '"tag": ' + "9" * 5000, 1)
    e = pytest.raises(ConfigError, from_json, text, n_neurons=None).value
    line = golden_text()[:golden_text().index('"tag": 1029')].count("\n") + 1
    assert e.count == 1 and "an integer of 5000 digits" in e.problems[0] and f"line {line} column" in e.problems[0]
    with pytest.raises(ValueError, match="tag = <an integer of 5001 digits>: outside 0..2047"):
        Dynapse2Synapse(tag=10**5000)


def test_encodings(tmp_path):
    "UTF-8 (with or without a byte-order mark) is read; UTF-16/32 and invalid UTF-8 are refused by a ConfigError."
    text = golden_text()
    ref = from_json(text, n_neurons=None)
    p = tmp_path / "c.json"
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load(p, n_neurons=None) == ref
    assert from_json("\ufeff" + text, n_neurons=None) == ref
    assert from_json(text.encode(), n_neurons=None) == ref
    for enc in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        p.write_bytes(text.encode(enc))
        e = pytest.raises(ConfigError, load, p, n_neurons=None).value
        assert e.count == 1 and f"encoded as {enc.upper()[:6]}" in e.problems[0] and "save it as UTF-8" in e.problems[0]
    bad = text.encode().replace(b'"tag": 1029', b'"tag": \xff1029', 1)
    p.write_bytes(bad)
    e = pytest.raises(ConfigError, load, p, n_neurons=None).value
    at = bad.index(b"\xff")
    line, column = bad[:at].count(b"\n") + 1, at - bad.rfind(b"\n", 0, at)
    assert e.count == 1 and f"not UTF-8: byte 0xff at line {line} column {column}" in e.problems[0]
    with pytest.raises(TypeError, match="path = 5: expected a file path"): load(5)


def test_non_finite_numbers_are_refused():
    j = golden_json(); j["value0"]["chips"][0]["dvsIf"]["filter"] = [1, {"a": [float("nan")]}]
    e = pytest.raises(ConfigError, from_json, json.dumps(j), n_neurons=None).value
    assert e.problems == ["chips[0].dvs_if.filter[1]['a'][0] = NaN: not a finite number (NaN and Infinity are not JSON) "
                          "[JSON path: value0.chips[0].dvsIf.filter[1].a[0]]"]
    j = golden_json(); j["value0"]["chips"][0]["dvsIf"]["filter"] = [1, {"a:b": ["x:y"]}]
    assert from_json(json.dumps(j), n_neurons=None).chips[0].dvs_if.filter == [1, {"a:b": ["x:y"]}]


def test_errors_name_the_path_in_the_file():
    "Each problem names the object path and the JSON path (keys and indices as in the file)."
    cfg = Dynapse2Configuration.reduced(n_neurons=20)
    j = json.loads(to_json(cfg))
    core1 = j["value0"]["chips"][0]["cores"]["value1"]
    core1["neurons"]["value17"]["synapses"]["value3"]["tag"] = 5000
    core1["neurons"]["value17"]["destinations"]["value2"]["core"]["value1"] = 1
    core1["neurons"]["value4"]["latchSoDc"] = None
    core1["parameters"][5]["value"]["coarseValue"] = 6
    core1["parameters"][6]["key"] = "SOIF_NOPE"
    del core1["sadcEnables"]["SoifMem"]
    core1["sadcEnables"]["soif mem"] = True
    j["value0"]["chips"][0]["bioamps"]["route"]["value1"]["xHop"] = -8
    e = read_error(j)
    assert set(e.problems) == {
        "chips[0].cores[1].neurons[17].synapses[3].tag = 5000: outside 0..2047 (11-bit tag) "
        "[JSON path: value0.chips[0].cores.value1.neurons.value17.synapses.value3.tag]",
        "chips[0].cores[1].neurons[17].destinations[2].core[1] = 1: expected true or false "
        "[JSON path: value0.chips[0].cores.value1.neurons.value17.destinations.value2.core.value1]",
        "chips[0].cores[1].neurons[4].latch_so_dc = null: expected true or false "
        "[JSON path: value0.chips[0].cores.value1.neurons.value4.latchSoDc]",
        "chips[0].cores[1].parameters['SOIF_CC_N'].coarse_value = 6: outside 0..5 (coarse code) "
        "[JSON path: value0.chips[0].cores.value1.parameters[5].value.coarseValue]",
        "chips[0].cores[1].parameters['SOIF_NOPE']: unknown parameter 'SOIF_NOPE' for a core's parameters; "
        "did you mean SOIF_DC_P, SOIF_CC_N, SOIF_REFR_N? [JSON path: value0.chips[0].cores.value1.parameters[6].key]",
        "chips[0].cores[1].parameters: missing parameters ['SOAD_PWTAU_N'] (every name of a core's parameters is "
        "required) [JSON path: value0.chips[0].cores.value1.parameters]",
        "chips[0].cores[1].sadc_enables.soif_mem: missing (expected the key 'SoifMem') "
        "[JSON path: value0.chips[0].cores.value1.sadcEnables.SoifMem]",
        "chips[0].cores[1].sadc_enables: unexpected key 'soif mem' in a CoreSadcEnables "
        "[JSON path: value0.chips[0].cores.value1.sadcEnables[\"soif mem\"]]",
        "chips[0].bioamps.route[1].x_hop = -8: outside -7..7 (chip hops) "
        "[JSON path: value0.chips[0].bioamps.route.value1.xHop]"}
