"""Which weights the sweep evaluates under Lightning's WeightAveraging (paint_lightning/callbacks/towers.py)."""

from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch import Callback, LightningModule
from lightning.pytorch.callbacks import WeightAveraging

from paint_lightning.callbacks.towers import AVERAGED, averaged_model


class _Tiny(LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(3, 2)


def _trainer(*callbacks: Callback) -> SimpleNamespace:
    return SimpleNamespace(callbacks=list(callbacks))


def test_no_weight_averaging_means_the_live_weights() -> None:
    assert averaged_model(_trainer(Callback())) is None


def test_before_fit_sets_it_up_there_is_no_average_yet() -> None:
    assert averaged_model(_trainer(WeightAveraging())) is None


def test_the_averaged_copy_is_found_and_holds_the_average() -> None:
    module = _Tiny()
    averaging = WeightAveraging()
    averaging.setup(SimpleNamespace(), module, "fit")
    before = module.layer.weight.detach().clone()
    averaging._average_model.update_parameters(module)  # what WeightAveraging does after a step
    with torch.no_grad():
        module.layer.weight.add_(2.0)
    averaging._average_model.update_parameters(module)
    found = averaged_model(_trainer(Callback(), averaging))
    assert found is not None and found is not module
    assert torch.allclose(found.layer.weight, before + 1.0)  # the mean of the two states, not the live one
    assert not torch.equal(found.layer.weight, module.layer.weight)


def test_a_lightning_that_moved_the_average_fails_loudly() -> None:
    averaging = WeightAveraging()
    delattr(averaging, AVERAGED)
    with pytest.raises(RuntimeError, match="cannot find the averaged weights of WeightAveraging"):
        averaged_model(_trainer(averaging))
    setattr(averaging, AVERAGED, torch.nn.Linear(1, 1))  # something, but not an AveragedModel
    with pytest.raises(RuntimeError, match="no public accessor"):
        averaged_model(_trainer(averaging))
