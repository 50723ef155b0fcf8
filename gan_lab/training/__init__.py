"""Run machinery: build and fit a run, callbacks, loggers, sweeps, the run folder and its checkpoints."""
