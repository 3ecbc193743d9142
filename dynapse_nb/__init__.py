"""A literate toolchain that takes a spiking network from a JAX simulator of the Dynap-SE2 chip to the chip (or a virtual board) and back.

Modules:

- `dynapse_nb.board`: Run a configuration on a Dynap-SE2 board -- a real one through samna, or the `VirtualBoard` emulator -- with rasters in and rasters out.
- `dynapse_nb.train`: Surrogate-gradient training of `Sequential(LinearJax, DynapSim)` networks with optax, made robust to the chip's mismatch; the frozen-noise task of the tutorials and the weights `dynapse_nb` ships for it."""

__version__ = "0.1.0"
