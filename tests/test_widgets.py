"""The widget panels without a front end: state after slider moves, clamping, closed boards, bad inputs.

Setting a widget's value runs its observers synchronously, so every test drives the panels as a browser would and
asserts on their state (never on Output-widget contents, which only a front end fills). The real-browser test is
tests/test_browser.py.
"""
import importlib.util, json, os, warnings
from io import BytesIO
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import numpy as np
import pytest
from PIL import Image

from dynapse_nb.nn import LinearJax, Sequential
from dynapse_nb.dynapsim import DynapSim
from dynapse_nb.spikes import FrozenNoiseDataset, firing_rate_ratio
from dynapse_nb.board import VirtualBoard
from dynapse_nb.train import load_tutorial_weights
from dynapse_nb.pipeline import BoardTarget, SimTarget, Targets
from dynapse_nb.widgets import FigureImage, IscalePanel, QuantizationExplorer, ResponseViewer, render_png
from dynapse_nb.mapping import mapper

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def net():
    w_in, w_rec = load_tutorial_weights()
    return Sequential(LinearJax((60, 2), weight=w_in),
                      DynapSim((2, 2), has_rec=True, w_rec=w_rec, percent_mismatch=0.05, dt=1e-3))


@pytest.fixture(scope="module")
def train():
    return FrozenNoiseDataset(2)


@pytest.fixture(scope="module")
def spec(net):
    return mapper(net.as_graph())


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(png)).convert("RGB"))


# ---------------------------------------------------------------- the Iscale panel: state follows the sliders


def test_panel_state_is_the_simulation(net, train):
    p = IscalePanel(net, train, targets=("float network",))
    out = np.asarray(net(train.full_batch()[0])[0]); net.reset_state()
    np.testing.assert_array_equal(p.counts, out.sum(1))
    np.testing.assert_array_equal(p.frr, firing_rate_ratio(out))
    np.testing.assert_array_equal(p.spikes, out[0])
    assert p.n_updates == 1 and p.error is None and p.message == ""
    assert p.frr_text.startswith("sample 0: ") and "sample 1: " in p.frr_text
    # the artists hold what is drawn
    np.testing.assert_array_equal(p.view.imem[1].get_ydata(), p.response.imem[0, :, 1])
    np.testing.assert_allclose(p.view.spikes[0].get_xdata(), np.flatnonzero(out[0, :, 0]) * 1e-3)
    assert pixels(p.png).shape == (351, 648, 3) and p.image.value == p.png
    p.close()


def test_slider_moves_resimulate_and_redraw(net, train):
    p = IscalePanel(net, train, targets=("float network",))
    png0, counts0 = p.png, p.counts.copy()
    p.sliders["Iscale"].value = 3.0
    assert p.n_updates == 2 and p.factors == {"Iscale": 3.0, "Ispkthr": 1.0, "Itau_mem": 1.0}
    assert p.texts["Iscale"].value == 3.0 and p.labels["Iscale"].value == "= 30 nA"
    assert p.counts.sum() > counts0.sum() and p.png != png0
    direct = SimTarget(net).run(train.full_batch()[0], {"Iscale": 3.0})
    np.testing.assert_array_equal(p.response.out, direct.out)
    p.sliders["Ispkthr"].value = 10.0                       # a higher threshold: fewer spikes
    assert p.counts.sum() < direct.out.sum()
    np.testing.assert_allclose(p.view.threshold[0].get_ydata(), [p.response.threshold[0]] * 2)
    p.texts["Itau_mem"].value = 2.0                         # the text field moves the slider, which updates
    assert p.sliders["Itau_mem"].value == 2.0 and p.factors["Itau_mem"] == 2.0 and p.n_updates == 4
    n = p.n_updates
    p.sample_slider.value = 1                               # a new sample: redraw only
    assert p.n_updates == n and p.sample == 1
    np.testing.assert_array_equal(p.spikes, p.response.out[1])
    p.set_factors(Iscale=1, Ispkthr=1, Itau_mem=1)          # one update for several factors
    assert p.n_updates == n + 1 and p.factors == {"Iscale": 1.0, "Ispkthr": 1.0, "Itau_mem": 1.0}
    np.testing.assert_array_equal(p.counts, counts0)
    p.close()


def test_blitted_frames_match_full_draws(net, train):
    p = IscalePanel(net, train, targets=("float network",))
    for f in (1.5, 2.0, 0.7):
        p.sliders["Iscale"].value = f
        diff = np.abs(pixels(p.png).astype(int) - pixels(render_png(p.fig)).astype(int)).max(-1) > 0
        assert diff.mean() < 0.01, f"blitted frame differs from a full draw in {diff.mean():.2%} of pixels"
    p.close()


# ---------------------------------------------------------------- clamping: the widget clamps, the panel says so


def test_slider_clamps_and_panel_says_so(net, train):
    p = IscalePanel(net, train, targets=("float network",))
    p.sliders["Iscale"].value = 1e4
    assert p.factors["Iscale"] == 100.0 and p.sliders["Iscale"].value == 100.0
    assert p.last_clamp == {"control": "Iscale factor", "requested": 1e4, "used": 100.0}
    assert "Iscale factor: 1e+04 is above the largest value 100; clamped to 100" in p.message
    assert "clamped to 100" in p.message_box.value
    n = p.n_updates
    p.sliders["Iscale"].value = 5e4                         # already at the bound: no update, still reported
    assert p.n_updates == n and p.last_clamp["requested"] == 5e4 and "5e+04" in p.message
    p.sliders["Iscale"].value = 2.0                         # a normal move clears the message
    assert p.message == "" and p.error is None
    p.sliders["Itau_mem"].value = 0.0
    assert p.factors["Itau_mem"] == pytest.approx(0.01) and "below the smallest value 0.01" in p.message
    p.sliders["Ispkthr"].value = float("nan")               # not a number: refused, value kept
    assert p.factors["Ispkthr"] == 1.0 and "nan is not a finite number; kept 1" in p.message
    p.sample_slider.value = 5
    assert p.sample == 1 and "sample: 5 is above the largest value 1; clamped to 1" in p.message
    p.close()


def test_text_field_clamps_and_panel_says_so(net, train):
    p = IscalePanel(net, train, targets=("float network",))
    p.texts["Iscale"].value = 250.0
    assert p.texts["Iscale"].value == 100.0 and p.sliders["Iscale"].value == 100.0 and p.factors["Iscale"] == 100.0
    assert "Iscale factor: 250 is above the largest value 100; clamped to 100" in p.message
    p.texts["Ispkthr"].value = -1.0
    assert p.factors["Ispkthr"] == pytest.approx(0.01) and p.texts["Ispkthr"].value == pytest.approx(0.01)
    assert "-1 is below the smallest value 0.01" in p.message
    n = p.n_updates
    p.texts["Itau_mem"].value = float("inf")
    assert p.texts["Itau_mem"].value == 1.0 and p.factors["Itau_mem"] == 1.0 and p.n_updates == n
    assert "inf is not a finite number; kept 1" in p.message
    p.close()


def test_constructor_factors_are_clamped_and_said(net, train):
    p = IscalePanel(net, train, targets=("float network",), factors={"Iscale": 1e3})
    assert p.factors["Iscale"] == 100.0 and "clamped to 100" in p.message
    p.close()


# ---------------------------------------------------------------- errors: in the panel, not as a traceback


def test_panel_on_a_closed_board_shows_the_error(net, train, spec):
    board = VirtualBoard(); board.close()
    p = IscalePanel(net, train, targets={"board": BoardTarget(spec, board)})
    assert p.error is not None and "board: BoardClosedError" in p.error and "closed" in p.error
    assert "Error:" in p.message_box.value and "closed" in p.message
    assert p.response is None and "no result" in p.frr_readout.value
    p.sliders["Iscale"].value = 2.0                         # moving a slider does not raise either
    assert p.error is not None and p.factors["Iscale"] == 2.0
    with pytest.raises(ValueError, match="nothing to plot"): p.plot()
    p.close()


def test_board_closed_during_a_session(net, train):
    board = VirtualBoard()
    p = IscalePanel(net, train, board=board)
    p.target_selector.value = "virtual board"
    assert p.error is None and p.response.imem is None and p.response.out.shape == (2, 500, 2)
    assert "records spikes only" in p.view.note.get_text()
    board.close()
    counts = p.counts.copy()
    p.sliders["Iscale"].value = 1.5                         # reconfigures the closed board
    assert "closed" in p.error and "closed" in p.message
    np.testing.assert_array_equal(p.counts, counts)         # the last good result stays on screen
    p.target_selector.value = "float network"               # the other targets still work
    assert p.error is None and p.message == "" and p.response.imem is not None
    p.close()


def test_viewer_with_a_closed_board_keeps_the_simulation(net, train, spec):
    board = VirtualBoard(); board.close()
    v = ResponseViewer(net, train, targets={"float network": "float network",
                                            "closed board": BoardTarget(spec, board)})
    assert "closed board" in v.errors and "closed" in v.message
    assert "float network" in v.responses
    assert v.view.columns["closed board"]["note"].get_text().startswith("error: BoardClosedError")
    v.close()


def test_viewer_split_and_sample(net, train):
    test = FrozenNoiseDataset(5, seed=2023)
    v = ResponseViewer(net, train, test, targets=("float network", "virtual board"))
    assert v.error is None and v.responses["virtual board"].imem is None
    v.split_selector.value = "test"; v.sample_slider.value = 4
    np.testing.assert_array_equal(v.raster, test[4][0])
    v.split_selector.value = "train"                         # only 2 train samples: the sample follows
    assert (v.split, v.sample) == ("train", 1) and v.sample_slider.value == 1
    v.sample_slider.value = -3
    assert v.sample == 0 and "sample: -3 is below the smallest value 0; clamped to 0" in v.message
    sim = v.responses["float network"]
    np.testing.assert_array_equal(v.view.columns["float network"]["isyn"][1].get_ydata(), sim.isyn[0, :, 1])
    v.close()


def test_explorer_states_and_errors(net):
    ex = QuantizationExplorer(net, matrix="recurrent")
    assert ex.error is None and ex.w_quant["recurrent"].shape == (2, 2) and ex.base_currents.shape == (1, 4)
    w_hat = ex.w_quant["input"]
    np.testing.assert_allclose(ex.deviation["input"], w_hat - ex.w_float["input"])
    assert ex.dropped["input"].sum() == (ex.quantized["weights_in"] == 0).sum() - (ex.w_float["input"] == 0).sum()
    n = ex.n_updates
    ex.matrix_selector.value = "input"                       # a new matrix: redraw only
    assert ex.n_updates == n and ex.view.images[0].get_array().shape == (2, 60)
    ex.text.value = 500.0                                    # clamped to 100, where the currents do not fit
    assert ex.factor == 100.0 and "clamped to 100" in ex.message
    assert ex.error is None and "saturate" in ex.message      # the chip's largest currents, and the panel says so
    ex.slider.value = 1.0
    assert ex.error is None
    ex.close()


# ---------------------------------------------------------------- bad input raises early (not a widget callback)


def test_bad_construction_raises(net, train):
    with pytest.raises(ValueError, match="needs a dataset"): IscalePanel(net)
    with pytest.raises(ValueError, match="sample must be an index 0..1"): IscalePanel(net, train, sample=2)
    with pytest.raises(ValueError, match="7 input channels"):
        IscalePanel(net, FrozenNoiseDataset(2, n_channels=7))
    with pytest.raises(ValueError, match="unknown target 'board'"): IscalePanel(net, train, targets=("board",))
    with pytest.raises(TypeError, match="must be a SimTarget"): Targets(net, {"x": 3})
    with pytest.raises(ValueError, match="factor Iscale must be a finite number > 0"):
        IscalePanel(net, train, factors={"Iscale": 0})
    with pytest.raises(ValueError, match="give the network"): QuantizationExplorer()
    with pytest.raises(ValueError, match="matrix must be one of"): QuantizationExplorer(net, matrix="hidden")
    with pytest.raises(ValueError, match="split must be one of"): ResponseViewer(net, train, split="test")


def test_targets_given_as_networks(net, train):
    p = IscalePanel(targets={"mine": net}, dataset=train)
    assert p.target_name == "mine" and p.error is None and isinstance(p.targets["mine"], SimTarget)
    p.close()


# ---------------------------------------------------------------- benchmark smoke run


def test_bench_widgets_smoke(tmp_path):
    path = ROOT / "benchmarks" / "bench_widgets.py"
    mod = importlib.util.spec_from_file_location("bench_widgets", path)
    bench = importlib.util.module_from_spec(mod); mod.loader.exec_module(bench)
    out = tmp_path / "widgets.json"
    res = bench.main(["--moves", "2", "--out", str(out)])
    data = json.loads(out.read_text())
    assert set(res) >= {"float network", "quantized network", "virtual board"}
    assert data["float network"]["n_moves"] == 2 and data["target_ms"] == 100.0


# ---------------------------------------------------------------- the picture in words (alt text)


def test_every_panel_image_has_its_words(net, train, spec):
    board = VirtualBoard(); board.close()
    panels = [IscalePanel(net, train, targets=("float network",)),
              ResponseViewer(net, train, targets={"float network": "float network",
                                                  "closed board": BoardTarget(spec, board)}),
              QuantizationExplorer(net, matrix="input")]
    for p in panels:
        state, name = p.image.get_state(), type(p).__name__
        assert isinstance(p.image, FigureImage), name
        assert state["description"] == "", name       # without it, ipywidgets 8's front end throws on a tooltip
        assert p.alt_text and state["tooltip"] == p.alt_text, name
        assert bytes(p.image.value) == p.png and p.png[:4] == b"\x89PNG", name
    p, v, q = panels
    assert p.alt_text.startswith("Iscale panel, float network, sample 0 (Iscale ×1, Ispkthr ×1, Itau_mem ×1)")
    assert f"{int(p.counts[0, 0])}/{int(p.counts[0, 1])} spikes (FRR {p.frr[0]:.2f})" in p.alt_text
    p.sliders["Iscale"].value = 3.0                          # the words follow the picture
    assert "Iscale ×3" in p.alt_text and p.image.tooltip == p.alt_text
    p.sample_slider.value = 1
    assert ", sample 1 (" in p.alt_text and p.image.tooltip == p.alt_text
    assert v.alt_text.startswith("Response viewer, train sample 0: input raster of 60 channels")
    assert "closed board an error (BoardClosedError)" in v.alt_text
    q.matrix_selector.value = "recurrent"
    assert q.alt_text.startswith("Quantization explorer, recurrent weights at Iscale ×1") and q.image.tooltip == q.alt_text
    for x in panels: x.close()
