"""Callbacks: step bookkeeping (logging cadence, the last-step stop), sample grids, evaluation, `last.ckpt`,
the divergence guard, images per second, a step bar (or progress lines where no bar can be drawn)."""

import math
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, RichProgressBar
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_info

from gan_lab.errors import Diverged, Interrupted
from gan_lab.metrics import Evaluator, describe, lower_is_better
from gan_lab.viz.animation import (
    CLIP_FPS,
    PROGRESS_FPS,
    clip_frames,
    progress_frames,
    sample_grids,
    write_video,
)
from gan_lab.viz.grids import save_samples


def _due(steps_done: int, every: int | None, total: int) -> bool:
    return steps_done == total or bool(every) and steps_done % every == 0


class StepBookkeeping(Callback):
    """After each step: log what `training_step` returned, the learning rates and the throughput, every
    `trainer.log_every_n_steps` steps and at the last; and stop the run at its last step (`total_steps`).

    Lightning sends logged values to the loggers on multiples of log_every_n_steps, or when the Trainer is
    told to stop, and `self.log` costs time even when dropped (measured: most of gan_lab's overhead over a
    plain loop on a small GAN), so nothing is logged between those steps. The x-axis ("step") is the
    system's own step count, as samples and evaluations are numbered.
    """

    def __init__(self, total_steps: int, throughput: "ImagesPerSecond") -> None:
        self.total_steps, self.throughput = total_steps, throughput

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if pl_module.steps_done >= self.total_steps:  # resumed from a run that is already this long
            trainer.should_stop = True

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, *args) -> None:
        done = pl_module.steps_done
        if done >= self.total_steps:
            trainer.should_stop = True
        if done % trainer.log_every_n_steps and done != self.total_steps:
            return
        shown = {k: v for k, v in outputs.items() if k.startswith(("loss/", "train/"))}  # on the bar
        if self.throughput.last is not None:
            shown["perf/img_per_sec"] = self.throughput.last
        logged = {k: v for k, v in outputs.items() if k not in shown}
        for name, optimizer in pl_module.named_optimizers().items():
            logged[f"lr/{name}"] = optimizer.param_groups[0]["lr"]
        logged["step"] = float(done)
        pl_module.log_dict(shown, prog_bar=True)
        pl_module.log_dict(logged)


class SampleGrid(Callback):
    """Every `every` steps and at the last step: G(fixed noise) as `samples/step_NNNNNN.png`, and to W&B.

    At the end of training, the grids become a progress video (and go to W&B as one).
    """

    def __init__(self, every: int | None, total_steps: int, out_dir: Path, num_real: int = 2500) -> None:
        self.every, self.total_steps, self.out_dir, self.num_real = (
            every,
            total_steps,
            Path(out_dir),
            num_real,
        )
        self.real = None

    def _real(self, datamodule) -> torch.Tensor:
        """Real points to plot under generated ones; image grids show generated samples only."""
        if self.real is None:
            points = len(datamodule.data_shape) == 1
            self.real = datamodule.real_samples(self.num_real) if points else torch.empty(0)
        return self.real

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        step = pl_module.steps_done
        if not trainer.is_global_zero or not _due(step, self.every, self.total_steps):
            return
        visual = pl_module.visuals()
        path = save_samples(
            visual.samples,
            self._real(trainer.datamodule),
            self.out_dir / f"step_{step:06d}.png",
            title=f"step {step}",
            nrow=visual.columns,
        )
        clips = None
        if visual.clips is not None:  # a video generator's samples: the grid as a video too
            _, clips = write_video(clip_frames(visual.clips), path.with_suffix(""), CLIP_FPS)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [str(path)], step=step, caption=[f"step {step}"])
                if clips is not None:
                    logger.log_video("samples/clips", [str(clips)], step=step)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """All of this run folder's grids (a resumed run's too) as `samples/progress.gif` and `.mp4`."""
        grids = sample_grids(self.out_dir) if trainer.is_global_zero else []
        if len(grids) < 2:  # one grid shows no progress
            return
        _, mp4 = write_video(progress_frames(grids), self.out_dir / "progress", PROGRESS_FPS)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_video("samples/progress", [str(mp4)], step=pl_module.steps_done)


class Evaluation(Callback):
    """Every `every` steps and at the last step: the metrics, logged as `eval/<name>` at that step.

    Rank zero evaluates and broadcasts the numbers, so that every rank agrees on whether to write
    `best.ckpt` (saving is collective under DDP). Each record also has `train_time_s`: wall-clock seconds
    of training so far, over every session of a resumed run and without the evaluations themselves, so
    that recipes can be compared at equal training time. The history, the best value and that clock live in
    checkpoints, so a resumed run keeps them.
    """

    def __init__(
        self, evaluator: Evaluator, every: int | None, total_steps: int, dirpath: Path, best: str | None
    ) -> None:
        self.evaluator, self.every, self.total_steps = evaluator, every, total_steps
        self.best_path, self.best = Path(dirpath) / "best.ckpt", best
        self.history: list[dict] = []
        self.best_value: float | None = None
        self.train_time_s, self._clock = 0.0, time.perf_counter()

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._clock = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        step = pl_module.steps_done
        if not _due(step, self.every, self.total_steps):
            return
        self.train_time_s += time.perf_counter() - self._clock
        scores = {}
        if trainer.is_global_zero:
            scores = self.evaluator(pl_module)
        scores = trainer.strategy.broadcast(scores, src=0)
        self.history.append({"step": step, "train_time_s": round(self.train_time_s, 2), **scores})
        rank_zero_info(f"gan_lab | step {step} | {describe(scores)}")
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics({f"eval/{k}": v for k, v in scores.items()}, step=step)
        if self._improved(scores.get(self.best)):
            self.best_value = scores[self.best]
            trainer.save_checkpoint(self.best_path, weights_only=False)
        self._clock = time.perf_counter()  # the evaluation and best.ckpt are not training time

    def _improved(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value):  # a diverged run's NaN is never "best"
            return False
        if self.best_value is None:
            return True
        return value < self.best_value if lower_is_better(self.best) else value > self.best_value

    def state_dict(self) -> dict:
        # The clock as of this checkpoint, not of the last evaluation: a run stopped between evaluations
        # (a signal, checkpoint.every) resumes with the training time it had.
        train_time_s = self.train_time_s + time.perf_counter() - self._clock
        return {"history": self.history, "best_value": self.best_value, "train_time_s": train_time_s}

    def load_state_dict(self, state_dict: dict) -> None:
        self.history, self.best_value = state_dict["history"], state_dict["best_value"]
        self.train_time_s = state_dict.get("train_time_s", 0.0)  # absent from checkpoints before it existed


class LastCheckpoint(Callback):
    """Saves `last.ckpt` every `every` steps, at the last step, and when a signal stops the run (SIGTERM, or
    SIGUSR1: SLURM's warning before the time limit), with the run's resolved config inside.

    Written through `AtomicCheckpointIO` by rank zero only. A signal is only noted when it comes; at the end
    of the step all ranks agree on it (it may have reached one process only), save, and stop with
    `Interrupted`. (Lightning's own SIGTERM handler runs a collective inside the handler, which can deadlock
    DDP.) Under SLURM, SIGUSR1 then requeues the job: SLURM never requeues a job that hit its time limit.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1)

    def __init__(self, every: int | None, total_steps: int, dirpath: Path, config: dict) -> None:
        self.every, self.total_steps, self.path, self.config = (
            every,
            total_steps,
            Path(dirpath) / "last.ckpt",
            config,
        )
        self.signalled: signal.Signals | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        def note(signum: int, _frame) -> None:
            self.signalled = signal.Signals(signum)

        # Installed after Lightning's own handlers, which Lightning puts back when training ends. Signal
        # handlers can only be set from the main thread (not from a joblib thread, say).
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                signal.signal(signum, note)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        stop = trainer.strategy.reduce_boolean_decision(self.signalled is not None, all=False)
        if stop or _due(pl_module.steps_done, self.every, self.total_steps):
            trainer.save_checkpoint(self.path, weights_only=False)
        if stop:
            name = self.signalled.name if self.signalled else "a signal to another process"
            if self.signalled == signal.SIGUSR1 and trainer.is_global_zero:
                requeue_slurm_job()
            raise Interrupted(name, pl_module.steps_done)

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict
    ) -> None:
        checkpoint["gan_lab"] = {"config": self.config}


def requeue_slurm_job() -> None:
    """Put this SLURM job back in the queue (as Lightning's SLURM support does); nothing outside SLURM."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return
    try:
        requeued = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True)
        said = requeued.stderr.strip() or "requeued"
    except FileNotFoundError:
        said = "scontrol not found: requeue the job yourself"
    rank_zero_info(f"gan_lab | scontrol requeue {job}: {said}")


class DivergenceGuard(Callback):
    """Stops the run at the first non-finite loss, and whenever a checkpoint may be written (last.ckpt, or
    best.ckpt at an evaluation) at a non-finite weight, so that no checkpoint ever holds a diverged network.
    Sits before the checkpointing callbacks.

    Every rank takes part in the decision, so that under DDP all of them stop together.
    """

    def __init__(self, checkpoint_every: int | None, eval_every: int | None, total_steps: int) -> None:
        self.checkpoint_every, self.eval_every, self.total_steps = checkpoint_every, eval_every, total_steps

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: dict[str, torch.Tensor], *args
    ) -> None:
        step = pl_module.steps_done
        finite = bool(torch.stack(list(outputs.values())).isfinite().all())  # one device sync for all losses
        bad = [] if finite else [f"{k} is {v.item()}" for k, v in outputs.items() if not v.isfinite().all()]
        if not bad and any(
            _due(step, every, self.total_steps) for every in (self.checkpoint_every, self.eval_every)
        ):
            bad = [f"weight {name} is not finite" for name, w in pl_module.state_dict().items()
                   if w.is_floating_point() and not w.isfinite().all()][:1]  # fmt: skip
        if trainer.strategy.reduce_boolean_decision(not bad, all=True):
            return
        raise Diverged(f"the run diverged at step {step}: {', '.join(bad) or 'on another process'}", step)


class RunClock(Callback):
    """The run's wall-clock `seconds` for metrics.json: every session of a resumed run, as of its checkpoints.

    One process's clock would report a few seconds for a run resumed only to find itself done, and a fraction
    of a run stopped and resumed across sessions. Time after the last checkpoint of a session that crashed, or
    before a rollback to that checkpoint, is not counted: no checkpoint holds it.
    """

    def __init__(self) -> None:
        self.before, self._start = 0.0, time.perf_counter()

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return self.before + time.perf_counter() - self._start

    def state_dict(self) -> dict:
        return {"seconds": self.seconds}

    def load_state_dict(self, state_dict: dict) -> None:
        self.before = state_dict["seconds"]


class ImagesPerSecond(Callback):
    """Throughput (all processes together): `last`, the latest step's (logged by StepBookkeeping), and the
    run's `mean` for metrics.json, over every session of a resumed run (its checkpoints keep the count).

    Timed from one batch end to the next, so data loading counts; the first batch of a session (warm-up) does
    not.
    """

    def __init__(self) -> None:
        self.images, self.seconds, self._last, self.last = 0, 0.0, None, None

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch, batch_idx: int
    ):
        now = time.perf_counter()
        if self._last is not None:
            images = len(batch[0]) * trainer.world_size
            self.images, self.seconds = self.images + images, self.seconds + (now - self._last)
            self.last = images / (now - self._last)
        self._last = now

    @property
    def mean(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0

    def state_dict(self) -> dict:
        return {"images": self.images, "seconds": self.seconds}

    def load_state_dict(self, state_dict: dict) -> None:
        self.images, self.seconds = state_dict["images"], state_dict["seconds"]


class StepProgressBar(RichProgressBar):
    """A rich bar over the run's `train.steps` (Lightning would count epochs or optimizer steps).

    Redrawn at most every `min_interval` seconds and at the last step: Lightning's bar redraws after every
    batch, which cost a tiny model's step 4% of its time. Its refresh thread wakes as seldom (Lightning's
    wakes 100 times a second, and on a machine whose cores all train, each wake-up preempts a compute thread
    that the others then wait for: benchmarks/README.md).
    """

    def __init__(self, total_steps: int, min_interval: float = 0.1) -> None:
        super().__init__(refresh_rate=max(1, round(1 / min_interval)), leave=True)
        self.total_steps, self.min_interval = total_steps, min_interval
        self._drawn_at = -math.inf

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        now = time.monotonic()
        if now - self._drawn_at >= self.min_interval or pl_module.steps_done >= self.total_steps:
            self._drawn_at = now
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    @property
    def total_train_batches(self) -> int:
        return self.total_steps

    def _get_train_description(self, current_epoch: int) -> str:
        return "Training"


class ProgressLines(Callback):
    """The step bar's stand-in where the output is not a terminal (a batch job, `nohup`, a CI log): a bar
    cannot redraw there, so it shows only once the run ends. Instead, one line every `1/parts` of the run:
    the step, the throughput, the time spent and the time left at this session's pace (evaluations included).
    """

    def __init__(self, total_steps: int, throughput: ImagesPerSecond, parts: int = 20) -> None:
        self.total_steps, self.throughput = total_steps, throughput
        self.every = max(1, math.ceil(total_steps / parts))
        self._start: tuple[float, int] | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = (time.monotonic(), pl_module.steps_done)  # a resumed run's pace counts from here

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        done = pl_module.steps_done
        if done % self.every and done != self.total_steps:
            return
        started, first = self._start
        spent = time.monotonic() - started
        left = spent / max(done - first, 1) * (self.total_steps - done)
        rate = self.throughput.mean  # 0 until a step after the first (warm-up) one is timed
        rank_zero_info(
            f"gan_lab | step {done}/{self.total_steps} ({100 * done / self.total_steps:.0f}%) | "
            + (f"{rate:.0f} img/s | " if rate else "")
            + f"{clock(spent)} spent, {clock(left)} left"
        )


def clock(seconds: float) -> str:
    """Seconds as h:mm:ss."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
