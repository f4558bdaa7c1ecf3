import torch

from paint_lightning.engine.local_measure import measure, prepare_data, resolve_device
from paint_lightning.engine.sweeper import Sweeper
from paint_lightning.interpolation.mix import Mix
from tests.conftest import tiny_datamodule, tiny_module


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")


def test_measure_counts_the_chosen_split_as_the_sweeper_does() -> None:
    datamodule = tiny_datamodule()
    module = tiny_module().eval()
    module.set_tasks(datamodule.task_specs())
    module.configure_model()
    prepare_data(datamodule, module)
    with torch.no_grad():
        for p in module.clip.visual.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    passes = []
    mixes = [Mix.of(0.0), Mix.of(1.0)]
    test = measure(module, datamodule, "test", torch.device("cpu"), on_pass=passes.append)(mixes)
    heldout = measure(module, datamodule, "heldout", torch.device("cpu"))(mixes)
    assert passes == [2]
    sizes = {name: len(data) for name, data in datamodule.cached_test_sets().items()}
    assert dict(zip(test.tasks, test.total.tolist(), strict=True)) == sizes
    assert heldout.total.tolist() != test.total.tolist()
    sets = datamodule.cached_test_sets()
    loaders = {spec.name: datamodule.eval_dataloader(sets[spec.name]) for spec in module.task_specs}
    expected = Sweeper(module, "cpu", 512 * 2**20).count(loaders, mixes)
    assert torch.equal(test.correct, expected.correct)
