"""An unwritable run folder or a full disk: a clear error at start, or at checkpoint time with the previous
checkpoint intact."""

import io
import os
import shutil
from pathlib import Path

import pytest
import torch
from conftest import cli, train

from gan_lab.errors import StorageError

RUN = ["train.steps=2", "samples.every=null", "metrics=none", "logger=none"]


def test_an_unwritable_run_folder_is_refused_before_any_data_is_loaded(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    from gan_lab.data import DataModule

    monkeypatch.setattr(DataModule, "prepare_data", lambda self: pytest.fail("data loaded"))
    with pytest.raises(StorageError, match="cannot write the run folder .*a_file/run"):
        train(RUN, blocker / "run")


def test_the_cli_says_so_in_one_line(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    result = cli([*RUN, "hydra.run.dir=a_file/run"], tmp_path)
    assert result.returncode != 0
    assert "cannot write the run folder" in result.stderr and "Traceback" not in result.stderr


def test_too_little_free_space_is_refused_at_start(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 100, 100))
    with pytest.raises(StorageError, match=r"only 0 MiB free .* checkpoints need about"):
        train(RUN, tmp_path / "run")


@pytest.mark.skipif(
    not os.path.exists("/dev/full"), reason="needs /dev/full, the kernel's always-full device"
)
def test_a_full_disk_at_checkpoint_time_keeps_the_previous_checkpoint(tmp_path):
    out = tmp_path / "run"
    train(RUN, out)
    last = out / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    # The next checkpoint is written to last.ckpt.partial: make that the kernel's full device (ENOSPC).
    (out / "checkpoints" / "last.ckpt.partial").symlink_to("/dev/full")
    with pytest.raises(StorageError) as full:
        train([*RUN, "train.steps=4", "ckpt_path=last"], out)
    assert "No space left on device" in str(full.value) and "the previous last.ckpt is intact" in str(
        full.value
    )
    assert "ckpt_path=last" in str(full.value)  # how to go on
    assert last.read_bytes() == before
    assert not Path(f"{last}.partial").exists()
    assert torch.load(last, weights_only=True)["system"]["steps_done"] == 2


def test_ctrl_c_mid_write_stays_a_ctrl_c_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """Ctrl-C inside torch.save: its zip writer then fails closing the half-written file, with a RuntimeError
    that hid the KeyboardInterrupt, so a sweep took it for a failed job and started the next one."""
    from gan_lab.training.storage import AtomicCheckpointIO

    last = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"step": 1}, last)
    real_save = torch.save

    class CtrlCOnThirdWrite(io.RawIOBase):  # SIGINT's handler raising in the middle of the real torch.save
        def __init__(self, file) -> None:
            self.file, self.writes = file, 0

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            self.writes += 1
            if self.writes == 3:
                raise KeyboardInterrupt
            return self.file.write(data)

    monkeypatch.setattr(torch, "save", lambda obj, f: real_save(obj, CtrlCOnThirdWrite(f)))
    with pytest.raises(KeyboardInterrupt):
        AtomicCheckpointIO().save_checkpoint({"step": 2, "weights": torch.zeros(1000)}, last)
    assert not Path(f"{last}.partial").exists()
    monkeypatch.setattr(torch, "save", real_save)
    assert AtomicCheckpointIO().load_checkpoint(last) == {"step": 1}
