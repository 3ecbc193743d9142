"""A literate toolchain that takes a spiking network from a JAX simulator of the Dynap-SE2 chip to the chip (or a virtual board) and back.

Modules:

- `dynapse_nb.biasgen`: Currents <-> (coarse, fine) codes of the Dynap-SE2 bias generator.
- `dynapse_nb.board`: Run a configuration on a Dynap-SE2 board -- a real one through samna, or the `VirtualBoard` emulator -- with rasters in and rasters out.
- `dynapse_nb.chip`: Every hardware figure of the Dynap-SE2 chip and board, defined once and imported everywhere else.
- `dynapse_nb.config`: A pure-Python Dynap-SE2 configuration (samna's object model) that writes and reads samna's JSON exactly.
- `dynapse_nb.dynapsim`: The Dynap-SE2 neuron and its synapses as differential-pair integrator (DPI) circuits, simulated in JAX.
- `dynapse_nb.from_spec`: The compiler: the mapper's spec (neurons on cores, per-core currents, quantized weights) -> a Dynap-SE2 configuration and the map of input channels to the destinations their events are sent to.
- `dynapse_nb.lif`: Leaky integrate-and-fire (LIF) neurons, trainable like `DynapSim`, and their conversion to Dynap-SE2 (DPI) neurons: bring a network trained elsewhere onto the chip.
- `dynapse_nb.limits`: The board's budgets -- neurons per core, tags, CAM, SRAM and hops -- checked in one place, and the one error type that lists every problem at once.
- `dynapse_nb.mapping`: Network graph -> spec: neurons placed on cores, one set of currents per core, float weights, capacity checks.
- `dynapse_nb.nn`: The module shell: `LinearJax`, `Sequential`, input checks and the computational graph that the mapper reads.
- `dynapse_nb.parameters`: Time constants, gain ratios, pulse widths and thresholds instead of currents -- converted to the simulator's currents with the chip's physics, and back.
- `dynapse_nb.pipeline`: One network on three targets -- the float simulation, the quantized network, a (virtual) board -- run the same way, with tuning factors on Iscale, Ispkthr and Itau_mem, and compared.
- `dynapse_nb.plots`: Rasters, current traces, the model-response figures of the tutorials, and the views the widget panels redraw.
- `dynapse_nb.quantize`: Float weights -> four base weight currents per core and a 4-bit mask per connection.
- `dynapse_nb.readback`: A configuration -> the simulator network it programs (`dynapsim_net_from_config`), and a spec -> its simulator.
- `dynapse_nb.spikes`: Poisson rasters, the frozen-noise dataset, raster <-> (time, channel) events, and the firing-rate ratio.
- `dynapse_nb.sweep`: Many simulated chips and parameter grids at once, sharded over every device JAX sees: spike counts, firing-rate ratios and decisions as a table, and the figures that summarise them.
- `dynapse_nb.train`: Surrogate-gradient training of `Sequential(LinearJax, DynapSim)` networks with optax, made robust to the chip's mismatch; the frozen-noise task of the tutorials and the weights `dynapse_nb` ships for it.
- `dynapse_nb.widgets`: Interactive panels for the quick-start tutorial: tune Iscale and friends, compare responses, explore quantization."""

__version__ = "0.1.0"

# The pipeline's names, importable from the package root without importing every layer up front (PEP 562):
# `from dynapse_nb import DynapSim, mapper, config_from_specification, VirtualBoard, ...`. (`quantize` is left out:
# the name is also the submodule `dynapse_nb.quantize`, which shadows it once imported; use
# `from dynapse_nb.quantize import quantize`.)
_EXPORTS = {
    "LinearJax": "nn", "Sequential": "nn", "DynapSim": "dynapsim", "FrozenNoiseDataset": "spikes",
    "poisson_spike_train": "spikes", "firing_rate_ratio": "spikes", "plot_model_response": "plots",
    "plot_model_response_histogram": "plots", "plot_Ix": "plots", "visualize_device_sim": "plots",
    "load_tutorial_weights": "train", "mapper": "mapping", "dequantize": "quantize",
    "config_from_specification": "from_spec", "dynapsim_net_from_config": "readback",
    "dynapsim_net_from_spec": "readback", "VirtualBoard": "board", "DynapseSamna": "board",
    "find_dynapse_boards": "board", "calibrate_iscale": "board", "autoencoder_quantization": "quantize",
    "plot_raster": "plots", "plot_vmem": "plots", "plot_isyn": "plots", "LIF": "lif", "dynapsim_from_lif": "lif",
    "tutorial_weights_info": "train", "apply_chip_settings": "board",
}
__all__ = sorted(_EXPORTS)   # `from dynapse_nb import *`: the pipeline's names, as the original tutorial uses them

def __getattr__(name):
    if name in _EXPORTS:
        import importlib
        return getattr(importlib.import_module(f"dynapse_nb.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'dynapse_nb' has no attribute {name!r}")

def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
