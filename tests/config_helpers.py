"Random contents for configuration tests (shared by test_config.py and test_config_properties.py)."
import numpy as np

from dynapse_nb.chip import Dendrite, MAX_HOP, N_TAGS


def random_memory(core, rng: np.random.Generator) -> None:
    "Fill every CAM and SRAM entry and latch of `core` with random valid values."
    codes = np.array([d.value for d in Dendrite])
    m = core.memory
    m.syn_dendrite[:] = rng.choice(codes, m.syn_dendrite.shape)
    for a in ("syn_stp", "syn_weight", "syn_precise_delay", "syn_mismatched_delay", "dest_core", "latches"):
        getattr(m, a)[:] = rng.random(getattr(m, a).shape) < 0.5
    m.syn_tag[:] = rng.integers(0, N_TAGS, m.syn_tag.shape)
    m.dest_x_hop[:] = rng.integers(-MAX_HOP, MAX_HOP + 1, m.dest_x_hop.shape)
    m.dest_y_hop[:] = rng.integers(-MAX_HOP, MAX_HOP + 1, m.dest_y_hop.shape)
    m.dest_tag[:] = rng.integers(0, N_TAGS, m.dest_tag.shape)
