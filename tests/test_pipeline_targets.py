"""The pipeline layer (`nbs/17_pipeline.ipynb`) without widgets: a script compares the float network, the quantized
network and a board, and nothing of the widget stack is imported on the way."""
import os, subprocess, sys, warnings

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import numpy as np
import pytest

from dynapse_nb.board import VirtualBoard
from dynapse_nb.pipeline import BUILTIN_TARGETS, SimTarget, Targets, compare
from dynapse_nb.spikes import FrozenNoiseDataset
from dynapse_nb.train import tutorial_network


@pytest.fixture(scope="module")
def net():
    return tutorial_network(percent_mismatch=0.05)


def test_pipeline_imports_no_widgets():
    code = ("import sys, dynapse_nb.pipeline; "
            "print(sorted(m for m in ('ipywidgets', 'traitlets', 'matplotlib', 'dynapse_nb.widgets', "
            "'dynapse_nb.plots') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, JAX_PLATFORMS="cpu")).stdout.strip()
    assert out == "[]", out


def test_compare_matches_each_target_alone_and_leaves_a_given_board_open(net):
    data = FrozenNoiseDataset(2)
    board = VirtualBoard()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare(net, data, board=board, factors={"Iscale": 1.5})
    assert list(res) == list(BUILTIN_TARGETS)
    x = data.full_batch()[0]
    np.testing.assert_array_equal(res["float network"].out, SimTarget(net).run(x, {"Iscale": 1.5}).out)
    assert not board.closed                                   # a board the caller gave is the caller's to close
    board.close()
    for r in res.values():
        assert r.out.shape == (2, 500, 2) and r.counts.shape == (2, 2) and r.frr.shape == (2,)


def test_compare_checks_before_it_runs(net):
    with pytest.raises(KeyError, match="Iscal"): compare(net, FrozenNoiseDataset(2), factors={"Iscal": 2})
    with pytest.raises(ValueError, match="7 input channels"): compare(net, FrozenNoiseDataset(1, n_channels=7))
    with pytest.raises(ValueError, match="unknown target"): compare(net, FrozenNoiseDataset(1), targets=("board",))


def test_targets_close_only_what_they_made(net):
    board = VirtualBoard()
    ts = Targets(net, ("virtual board",), board)
    ts["virtual board"].run(FrozenNoiseDataset(1).full_batch()[0])
    ts.close()
    assert not board.closed
    board.close()
    own = Targets(net, ("virtual board",))
    made = own["virtual board"].board
    own.close()
    assert made.closed
