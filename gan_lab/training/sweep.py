"""--multirun bookkeeping: each job records how it ended, one job's failure never stops the others, and the
sweep ends with a summary of which jobs failed and why (with any launcher: basic, joblib or SLURM)."""

import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from gan_lab.errors import Refused, Stopped, reported_as_one_line
from gan_lab.metrics.evaluator import lower_is_better

log = logging.getLogger(__name__)

STATUS_FILE = "job_status.json"


def _in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _write_status(error: str | None) -> None:
    hydra = HydraConfig.get()
    status = {
        "job": hydra.job.num,
        "overrides": list(hydra.overrides.task),
        "status": "failed" if error else "done",
        "error": error,
    }
    path = Path(hydra.runtime.output_dir) / STATUS_FILE
    partial = path.with_name(f"{path.name}.partial")  # the summary never reads half a file
    partial.write_text(json.dumps(status, indent=2) + "\n")
    os.replace(partial, path)


@contextmanager
def job_outcome(program: str) -> Iterator[None]:
    """Run one job: the user's mistakes become one clear line. Inside --multirun, the job's ending is also
    written to `<job dir>/job_status.json` and a failure is logged (traceback in the job's log) instead of
    raised, so that the sweep goes on. A stop by signal (SIGTERM, preemption) still ends the whole sweep."""
    if not _in_multirun():
        with reported_as_one_line(program):
            yield
        return
    try:
        with reported_as_one_line(program):
            yield
    except Stopped as stop:
        _write_status(str(stop.code))
        raise
    except Refused as mistake:  # reported_as_one_line's one line
        _write_status(str(mistake.code).removeprefix(f"{program}: error: "))
        log.error("%s", mistake.code)
    except Exception as error:  # a bug or a fault: keep the whole traceback in the job's log
        _write_status(f"{type(error).__name__}: {error}")
        log.error("%s: job failed:\n%s", program, traceback.format_exc())
    else:
        _write_status(None)


def _direction(sweeper: DictConfig | None) -> str | None:
    """The direction (minimize or maximize) of a sweeper that optimizes (optuna); None for one that lists."""
    direction = OmegaConf.select(sweeper, "direction", default=None) if sweeper is not None else None
    return None if direction is None else str(direction).rsplit(".", 1)[-1].lower()


class ObjectiveCheck(Callback):
    """Before an optimizing sweep (hydra/sweeper=optuna) launches a trial: eval.objective names a metric, and
    the sweeper's direction makes it better (modes up, FID down). One line, and no trial wasted."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        direction = _direction(config.hydra.sweeper)
        objective = OmegaConf.select(config, "eval.objective", default=None)
        if direction is None:
            return
        if objective is None:
            sys.exit("gan_lab: error: eval.objective=null: the sweeper optimizes eval.objective; set it "
                     "to a metric of metrics.names, e.g. eval.objective=modes_captured.")  # fmt: skip
        better = "minimize" if lower_is_better(objective) else "maximize"
        if direction != better:
            sys.exit(f"gan_lab: error: hydra.sweeper.direction={direction} would make {objective} worse: use "
                     f"hydra.sweeper.direction={better}.")  # fmt: skip


def final_evaluation(metrics: dict) -> dict[str, float]:
    """A run's metrics.json record -> its metrics at the last step (empty if it did not evaluate there)."""
    last = [e for e in metrics.get("eval", []) if e.get("step") == metrics.get("steps")]
    when = ("step", "train_time_s")  # when the evaluation ran, not what it measured
    record = last[-1] if last else {}
    return {k: v for k, v in record.items() if k not in when and isinstance(v, int | float)}


def objective_value(objective: str | None, metrics: dict | None) -> float | None:
    """What a job returns to the sweeper: `objective`'s value at the run's last step. None when nothing is
    optimized, or the job failed: the optuna sweeper then records a failed trial and goes on."""
    final = final_evaluation(metrics or {})
    return float(final[objective]) if objective in final else None


class SweepSummary(Callback):
    """At the end of a multirun: list the failed jobs with their overrides and error, then exit non-zero if
    any failed. Reads the job folders of this sweep from disk (every `.hydra/` made since it started), so it
    works whichever process ran a job, and counts a job that left no status (killed) as failed."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.time()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        made = sweep_dir.rglob(".hydra/overrides.yaml")
        jobs = sorted(
            p.parent.parent for p in made if p.stat().st_mtime >= self.started - 1
        )  # not older sweeps'

        failed = [self._failure(job) for job in jobs]
        failed = [f for f in failed if f]
        log.info("sweep %s: %d of %d jobs done", sweep_dir, len(jobs) - len(failed), len(jobs))
        if failed:
            sys.exit(f"gan_lab: {len(failed)} of {len(jobs)} jobs failed:\n" + "\n".join(failed))

    @staticmethod
    def _failure(job: Path) -> str | None:
        """`  job N (overrides): error` for a failed job, None for one that finished."""
        path = job / STATUS_FILE
        if not path.is_file():
            overrides = " ".join(OmegaConf.load(job / ".hydra/overrides.yaml"))
            return f"  {job.name} ({overrides}): no {STATUS_FILE}: the job was killed before it ended"
        status = json.loads(path.read_text())
        if status["status"] != "failed":
            return None
        return f"  job {status['job']} ({' '.join(status['overrides'])}): {status['error']}"
