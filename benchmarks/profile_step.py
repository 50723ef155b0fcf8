"""Where gan_lab's training step spends the time that the plain loop of `benchmarks/bench.py` does not.

    python benchmarks/profile_step.py                                    # the quickstart MLP GAN
    python benchmarks/profile_step.py experiment=dcgan_mnist data_dir=../shared/data steps=40 rounds=2

Two views, both on the CPU, by default with one torch thread and timed by the process's CPU time (so that a
busy neighbour on a shared machine stretches nothing but the wall clock); `threads=0 clock=wall` measures as
a user's run goes instead (one thread per core, wall-clock time), where loader workers and torch's threads
compete for the cores:

1. cProfile of the steady-state steps of one gan_lab run: milliseconds per step in each part of the step.
   The profiler slows Python code more than the C++ kernels, so read the shares, not the absolute times.
2. Ablations: the same run with one part switched off or replaced (by a patch here, not in gan_lab), in
   alternating rounds with the unchanged run, the plain loop and gan_lab's GAN module in a bare Lightning
   Trainer (Lightning's own cost per step). The gain of a change is measured, not guessed from the profile.

Arguments are key=value: `steps`, `warmup`, `rounds`, `top` (profile rows), `only` (comma-separated
ablation names), `threads` (torch threads; 0 = torch's default, one per core; default 1), `clock` (cpu, the
default, or wall), and anything else is an override of conf/train.yaml.
"""

import contextlib
import cProfile
import inspect
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import bench  # benchmarks/bench.py, beside this script (its folder is on sys.path when run as a script)
import pytorch_lightning as pl
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from gan_lab.data.base import DataModule
from gan_lab.training import callbacks
from gan_lab.training import run as train

COMMON = [
    "samples.every=null",
    "checkpoint.every=null",
    "eval.every=null",
    "metrics=none",
    "trainer.accelerator=cpu",
]


def _parts() -> list[tuple[str, Callable]]:
    """(label, function): the profile shows each function's cumulative time per step."""
    from pytorch_lightning.callbacks import RichProgressBar
    from pytorch_lightning.core.optimizer import LightningOptimizer
    from pytorch_lightning.loops.training_epoch_loop import _TrainingEpochLoop
    from pytorch_lightning.strategies import Strategy
    from pytorch_lightning.trainer import call
    from pytorch_lightning.trainer.connectors.logger_connector.logger_connector import _LoggerConnector
    from torch.utils.data.dataloader import _BaseDataLoaderIter

    from gan_lab.systems import LatentGAN

    module = pl.LightningModule
    return [
        ("whole step (Lightning's training_epoch_loop.advance)", _TrainingEpochLoop.advance),
        ("  next batch from the DataLoader (sampler, collate)", _BaseDataLoaderIter.__next__),
        ("  batch to device", Strategy.batch_to_device),
        ("  LatentGAN.training_step, all of it", LatentGAN.training_step),
        ("    toggle_optimizer", module.toggle_optimizer),
        ("    untoggle_optimizer", module.untoggle_optimizer),
        ("    manual_backward (Lightning, hooks, backward)", module.manual_backward),
        ("      of which torch.autograd.backward", torch.autograd.backward),
        ("    LightningOptimizer.step (Lightning, hooks, step)", LightningOptimizer.step),
        ("      of which Adam.step", torch.optim.Adam.step),
        ("  callbacks' hooks, all (Lightning's dispatch)", call._call_callback_hooks),
        ("    StepBookkeeping.on_train_batch_end (log_dict)", callbacks.StepBookkeeping.on_train_batch_end),
        ("    ImagesPerSecond.on_train_batch_end", callbacks.ImagesPerSecond.on_train_batch_end),
        ("    DivergenceGuard.on_train_batch_end", callbacks.DivergenceGuard.on_train_batch_end),
        ("    the progress bar's on_train_batch_end", RichProgressBar.on_train_batch_end),
        ("  logger connector: metrics to logger and bar", _LoggerConnector.update_train_step_metrics),
        ("  every self.log, wherever called", module.log),
    ]


def _key(function: Callable) -> tuple[str, int, str]:
    code = inspect.unwrap(function).__code__  # (Adam.step is wrapped by a decorator)
    return code.co_filename, code.co_firstlineno, code.co_name


def arguments(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    ours, overrides = {}, []
    for arg in argv:
        key, _, value = arg.partition("=")
        if key in ("steps", "warmup", "rounds", "top", "only", "threads", "clock"):
            ours[key] = value
        else:
            overrides.append(arg)
    return ours, overrides


# ---------------------------------------------------------------------------------------------- ablations


@contextlib.contextmanager
def no_logging() -> Iterator[None]:
    """Every self.log a no-op: what logging still costs (gan_lab logs every trainer.log_every_n_steps)."""
    with mock.patch.object(pl.LightningModule, "log", lambda *args, **kwargs: None):
        yield


@contextlib.contextmanager
def no_progress_bar() -> Iterator[None]:
    """The rich bar never redrawn during the window."""
    with mock.patch.object(callbacks.StepProgressBar, "on_train_batch_end", lambda *args, **kwargs: None):
        yield


@contextlib.contextmanager
def no_bar_at_all() -> Iterator[None]:
    """No progress bar in the Trainer at all (with `trainer.enable_progress_bar=false` in EXTRA): not even
    rich's display and its refresh thread."""
    with mock.patch.object(train, "StepProgressBar", lambda total_steps: pl.Callback()):
        yield


@contextlib.contextmanager
def no_divergence_guard() -> Iterator[None]:
    with mock.patch.object(callbacks.DivergenceGuard, "on_train_batch_end", lambda *args, **kwargs: None):
        yield


@contextlib.contextmanager
def in_memory_batches() -> Iterator[None]:
    """The training set decoded once into one tensor; each batch one indexing of it (in the main process),
    as in the plain loop, instead of a DataLoader collating `batch_size` single samples. The 2D mixtures
    already draw batches so by default (`dataset.on_device=true`): there it compares two ways of doing so."""
    original = DataModule.train_dataloader

    def train_dataloader(self) -> DataLoader:
        loader = original(self)
        samples, labels = bench.in_memory(self.train_set, self.num_workers)
        data = TensorDataset(samples, labels)
        sampler = BatchSampler(RandomSampler(data, generator=torch.Generator().manual_seed(self.seed)),
                               self.batch_size, drop_last=True)  # fmt: skip
        del loader
        return DataLoader(data, sampler=sampler, batch_size=None)  # TensorDataset[list] indexes all at once

    with mock.patch.object(DataModule, "train_dataloader", train_dataloader):
        yield


@contextlib.contextmanager
def all_of_them() -> Iterator[None]:
    with no_progress_bar(), no_divergence_guard(), in_memory_batches():
        yield


ABLATIONS: dict[str, Callable[[], contextlib.AbstractContextManager]] = {
    "no_logging": no_logging,
    "no_progress_bar": no_progress_bar,
    "no_bar_at_all": no_bar_at_all,
    "no_divergence_guard": no_divergence_guard,
    "in_memory_batches": in_memory_batches,
    "all_three_above": all_of_them,
    # Config changes rather than patches (their overrides in EXTRA): the loader's settings.
    "no_logger": contextlib.nullcontext,
    "no_workers": contextlib.nullcontext,
    "on_device": contextlib.nullcontext,
}
EXTRA: dict[str, list[str]] = {
    "no_bar_at_all": ["+trainer.enable_progress_bar=false"],
    "no_logger": ["logger=none"],
    "no_workers": ["dataset.num_workers=0"],  # batches loaded in the main process, between steps
    "on_device": ["dataset.on_device=true"],  # the split in memory on the device, each batch one indexing
}


# ------------------------------------------------------------------------------------------------ running


SECONDS = {"cpu": "cpu_seconds", "wall": "seconds"}  # a bench result's seconds, by clock
CLOCK = {"clock": "cpu"}  # the clock of this invocation (main sets it)


def _now() -> float:
    return time.process_time() if CLOCK["clock"] == "cpu" else time.perf_counter()


def gan_lab_ms(overrides: list[str], warmup: int, steps: int, out: Path) -> float:
    cfg = bench.compose_train([*overrides, f"train.steps={warmup + steps}", f"paths.output_dir={out}"])
    result = bench.measure_gan_lab(cfg, warmup, steps, torch.device("cpu"))
    return 1000 * result[SECONDS[CLOCK["clock"]]] / steps


def bare_trainer_ms(overrides: list[str], warmup: int, steps: int, out: Path) -> float:
    """gan_lab's LatentGAN system alone in a bare Trainer: no callbacks, logger, progress bar or
    DataLoader (random batches indexed from the training split in memory, as the plain loop draws them), and
    no self.log (log_every_n_steps beyond the run). What Lightning's loop and hooks cost by themselves."""
    from hydra.utils import instantiate

    cfg = bench.compose_train([*overrides, f"train.steps={warmup + steps}", f"paths.output_dir={out}"])
    pl.seed_everything(cfg.seed, verbose=False)
    datamodule = instantiate(cfg.dataset)
    system = train.build(cfg, datamodule)
    datamodule.setup("fit")
    data, labels = bench.in_memory(datamodule.train_set, 0)
    clock: dict[str, float] = {}

    class Clock(pl.Callback):  # the bare Trainer's one callback: two clock reads, and the stop
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
            if pl_module.steps_done in (warmup, warmup + steps):
                clock[str(pl_module.steps_done)] = _now()
            trainer.should_stop = pl_module.steps_done >= warmup + steps

    def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            index = torch.randint(len(data), (cfg.dataset.batch_size,))
            yield data[index], labels[index]

    trainer = pl.Trainer(
        max_steps=-1, max_epochs=-1, accelerator="cpu",
        logger=False, callbacks=[Clock()], enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=False, log_every_n_steps=10 * (warmup + steps), default_root_dir=str(out),
    )  # fmt: skip
    trainer.fit(system, train_dataloaders=batches())
    return 1000 * (clock[str(warmup + steps)] - clock[str(warmup)]) / steps


def plain_ms(overrides: list[str], warmup: int, steps: int, out: Path) -> float:
    cfg = bench.compose_train([*overrides, f"train.steps={warmup + steps}", f"paths.output_dir={out}"])
    result = bench.measure_plain(cfg, warmup, steps, torch.device("cpu"))
    return 1000 * result[SECONDS[CLOCK["clock"]]] / steps


def profile(overrides: list[str], warmup: int, steps: int, out: Path, top: int) -> None:
    """cProfile over the timed steps only, switched on and off by the bench's own window callback."""
    profiler = cProfile.Profile()
    original = train.ImagesPerSecond

    class Switch(original):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
            if pl_module.steps_done == warmup:
                profiler.enable()
            elif pl_module.steps_done == warmup + steps:
                profiler.disable()

    cfg = bench.compose_train([*overrides, f"train.steps={warmup + steps}", f"paths.output_dir={out}"])
    with mock.patch.object(train, "ImagesPerSecond", Switch):
        train.run(cfg)
    stats = pstats.Stats(
        profiler
    ).stats  # {(file, line, function): (calls, ncalls, tottime, cumtime, callers)}
    parts = [(label, stats.get(_key(function))) for label, function in _parts()]
    total = parts[0][1][3]
    print(f"\ncProfile, {steps} steps ({1000 * total / steps:.2f} ms/step under the profiler):")
    print(f"{'part':58s} {'ms/step':>8s} {'share':>6s}  calls/step")
    for label, found in parts:
        if found:
            ms, share, calls = 1000 * found[3] / steps, 100 * found[3] / total, found[1] / steps
            print(f"{label:58s} {ms:8.3f} {share:5.1f}%  {calls:g}")
    print(f"\ntop {top} by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main(argv: list[str]) -> None:
    ours, overrides = arguments(argv)
    threads, CLOCK["clock"] = int(ours.get("threads", 1)), ours.get("clock", "cpu")
    if CLOCK["clock"] not in SECONDS:
        raise SystemExit(f"clock={CLOCK['clock']}: use cpu or wall")
    if threads:
        torch.set_num_threads(threads)
    steps, warmup = int(ours.get("steps", 600)), int(ours.get("warmup", 20))
    rounds, top = int(ours.get("rounds", 3)), int(ours.get("top", 25))
    only = ours.get("only", ",".join(ABLATIONS)).replace("none", "").split(",")
    only = [name for name in only if name]
    overrides = [*COMMON, *(overrides or ["experiment=quickstart"])]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        profile(overrides, warmup, steps, out / "profile", top)
        times: dict[str, list[float]] = {"gan_lab as is": [], "plain loop": [], "bare Trainer": []}
        for name in only:
            times[name] = []
        for r in range(rounds):
            times["gan_lab as is"].append(gan_lab_ms(overrides, warmup, steps, out / f"base{r}"))
            times["plain loop"].append(plain_ms(overrides, warmup, steps, out / f"plain{r}"))
            times["bare Trainer"].append(bare_trainer_ms(overrides, warmup, steps, out / f"bare{r}"))
            for name in only:
                with ABLATIONS[name]():
                    changed = [*overrides, *EXTRA.get(name, [])]
                    times[name].append(gan_lab_ms(changed, warmup, steps, out / f"{name}{r}"))
    base, plain = statistics.median(times["gan_lab as is"]), statistics.median(times["plain loop"])
    print(f"\nAblations: {CLOCK['clock']} ms per step, {torch.get_num_threads()} torch threads, median of "
          f"{rounds} rounds ({' '.join(overrides)})")  # fmt: skip
    print(f"{'variant':24s} {'ms/step':>8s} {'saves ms':>9s} {'plain/this':>11s}")
    for name, values in times.items():
        ms = statistics.median(values)
        print(f"{name:24s} {ms:8.3f} {base - ms:9.3f} {plain / ms:11.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
