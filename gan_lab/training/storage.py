"""Run-folder storage that never loses what was written: checks before a run, atomic checkpoint writes."""

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from hydra.experimental.callback import Callback as HydraCallback
from lightning_fabric.plugins import TorchCheckpointIO
from omegaconf import DictConfig

from gan_lab.errors import StorageError

FIX = "Free some space or point hydra.run.dir (hydra.sweep.dir under --multirun) at another folder"


def _existing_ancestor(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_writable(folder: Path, need_bytes: int = 0) -> None:
    """Raise StorageError unless files can be written under `folder` (made if needed) with `need_bytes` free.

    Only the nearest existing ancestor is tested, so the check can run before Hydra makes the folder.
    """
    folder = Path(folder).absolute()
    where = _existing_ancestor(folder)
    try:
        with tempfile.TemporaryFile(dir=where):
            pass
    except OSError as error:
        raise StorageError(
            f"cannot write the run folder {folder}: {error.strerror or error} in {where}. "
            "Point hydra.run.dir (hydra.sweep.dir under --multirun) at a writable folder."
        ) from None
    free = shutil.disk_usage(where).free
    if free < need_bytes:
        raise StorageError(
            f"only {free / 2**20:.0f} MiB free for the run folder {folder}; its checkpoints need about "
            f"{need_bytes / 2**20:.0f} MiB. {FIX}."
        )


def checkpoint_bytes(module: torch.nn.Module) -> int:
    """About the size of one checkpoint: the weights and two optimizer slots per weight (Adam's moments)."""
    return 3 * sum(t.numel() * t.element_size() for t in module.state_dict().values())


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class RunFolderCheck(HydraCallback):
    """Hydra callback: before Hydra makes the run (or sweep) folder, check that it can be written, so that an
    unwritable folder is one clear line instead of a traceback from deep inside Hydra. (Hydra turns a
    callback's exceptions into warnings, hence the exit.)"""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(Path(config.hydra.run.dir))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(Path(config.hydra.sweep.dir))

    @staticmethod
    def _check(folder: Path) -> None:
        try:
            check_writable(folder)
        except StorageError as error:
            sys.exit(f"gan_lab: error: {error}")


def _keyboard_interrupt_behind(error: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt that `error` is, or was raised while handling, if any."""
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return error
        error = error.__context__
    return None


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes `<name>.partial` beside the target, fsyncs it, then renames it over the target; loads with
    `weights_only=True`, so a crafted checkpoint cannot run code.

    A rename within one folder is atomic, so a kill or a full disk mid-write leaves the previous checkpoint
    whole. (Lightning's own IO stages the file in the system temp folder, which may be another filesystem.)
    """

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        path = Path(path)
        partial = path.with_name(f"{path.name}.partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, path)
            _fsync_folder(path.parent)  # the rename itself survives a power cut
        except BaseException as error:
            partial.unlink(missing_ok=True)
            ctrl_c = _keyboard_interrupt_behind(error)
            if ctrl_c is not None:
                # torch.save's zip writer, closed while Ctrl-C unwinds it, raises its own RuntimeError and
                # hides the KeyboardInterrupt: Lightning's shutdown and the sweep's stop only see the latter.
                raise ctrl_c from None
            if not isinstance(error, OSError):
                raise
            kept = (
                f"the previous {path.name} is intact" if path.exists() else f"no {path.name} was written yet"
            )
            raise StorageError(
                f"could not write {path}: {error.strerror or error}; {kept}. {FIX}, then resume with "
                f"ckpt_path=last hydra.run.dir={path.parent.parent}."
            ) from error

    def load_checkpoint(self, path, map_location=None, weights_only: bool | None = None) -> dict:
        return super().load_checkpoint(path, map_location=map_location, weights_only=True)


def resume_path(ckpt_path: str | None, run_dir: Path) -> Path | None:
    """The checkpoint to resume from: `last` is this run folder's last.ckpt, or None when there is none yet
    (so that a requeued job can always pass `ckpt_path=last`)."""
    if ckpt_path is None:
        return None
    if ckpt_path == "last":
        last = run_dir / "checkpoints" / "last.ckpt"
        return last if last.is_file() else None
    return Path(ckpt_path).expanduser()
