import pytest

from paint_lightning.commands.cli import main
from paint_lightning.models import CLIPSource, PaintModule
from tests.conftest import TINY_CONFIG
from tests.run_fixtures import TINY_YAML


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -float("inf")])
def test_a_learning_rate_that_is_not_finite_is_refused_with_the_reason(lr):
    with pytest.raises(ValueError, match=rf"model\.lr={lr}: must be a finite positive number"):
        PaintModule(CLIPSource(config=TINY_CONFIG), lr=lr)


@pytest.mark.parametrize("value", ["nan", "inf", ".nan", ".inf"])
def test_lr_nan_or_inf_on_the_command_line_says_lr_must_be_finite_and_positive(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", TINY_YAML, "--model.lr", value])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert exit_info.value.code == 2 and len(errors) == 1
    assert errors[0].startswith(f"error: model.lr={value.lstrip('.')}: must be a finite positive number"), errors
