"""`python signal_at_step.py SIGNAL STEP [overrides]`: `python -m gan_lab [overrides]` that sends itself
SIGNAL (a real one, through the kernel) as a scheduler or the OOM killer would: SIGKILL right after training
step STEP (its checkpoint written, if one was due), any other signal as step STEP ends, before gan_lab looks
for one."""

import os
import signal
import sys

from gan_lab.cli.train import main
from gan_lab.training.callbacks import LastCheckpoint

SIGNAL, STEP = signal.Signals[sys.argv[1]], int(sys.argv[2])
on_train_batch_end = LastCheckpoint.on_train_batch_end


def with_signal(self, trainer, pl_module, *args) -> None:
    if pl_module.steps_done == STEP and SIGNAL != signal.SIGKILL:
        os.kill(os.getpid(), SIGNAL)
    on_train_batch_end(self, trainer, pl_module, *args)
    if pl_module.steps_done == STEP and SIGNAL == signal.SIGKILL:
        os.kill(os.getpid(), SIGNAL)


LastCheckpoint.on_train_batch_end = with_signal
sys.argv = [sys.argv[0], *sys.argv[3:]]
main()
