"""Rank 0's export outcome is every process's: a failure there ends the others, none waits."""

from __future__ import annotations

import pytest

from paint_lightning.callbacks.outputs import shared_outcome


class Broadcast:
    """A strategy's ``broadcast``: what rank 0 sent, seen by this process; records the calls."""

    def __init__(self, sent_by_rank_zero: bool | None = None) -> None:
        self.sent = sent_by_rank_zero
        self.calls: list[object] = []

    def broadcast(self, obj: object, src: int = 0) -> object:
        assert src == 0
        self.calls.append(obj)
        return obj if self.sent is None else self.sent  # None: this process is rank 0


def test_rank_zero_raises_its_own_failure_after_telling_the_others() -> None:
    strategy, failure = Broadcast(), PermissionError("cannot write patched.safetensors")
    with pytest.raises(PermissionError) as info:
        shared_outcome(strategy, failure, "the export")
    assert info.value is failure and strategy.calls == [True]


def test_the_other_processes_exit_quietly_when_rank_zero_failed() -> None:
    strategy = Broadcast(sent_by_rank_zero=True)
    with pytest.raises(SystemExit) as info:
        shared_outcome(strategy, None, "the export")
    assert info.value.code == 1 and strategy.calls == [False]  # they take part in the same collective


def test_every_process_goes_on_when_rank_zero_succeeded() -> None:
    for strategy in (Broadcast(), Broadcast(sent_by_rank_zero=False)):
        shared_outcome(strategy, None, "the export")
        assert strategy.calls == [False]
