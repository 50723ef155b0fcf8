#!/bin/bash
# Issue 14 §1: the recipe search on PacGAN's 2D protocol (networks, data, batch 100 and evaluation unchanged),
# on seed 100 (the reported trials use seeds 0-9). One Optuna study per mixture, run side by side with one
# torch thread each. Usage: experiments/pacgan_mixtures_recipe/search.sh grid|ring SWEEP_DIR
set -euo pipefail
mixture=$1
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun experiment=pacgan_$mixture seed=100 logger=none \
  train.steps=4000 eval.every=1000 samples.every=null checkpoint.every=null \
  hydra/sweeper=optuna hydra.sweeper.direction=maximize hydra.sweeper.n_trials=10 hydra.sweeper.n_jobs=1 \
  eval.objective=high_quality_pct hydra.sweeper.sampler.seed=0 hydra.sweep.dir="$2" \
  'loss=choice(non_saturating,hinge,least_squares)' \
  'system.optimizers.generator.lr=tag(log,interval(1e-4,3e-3))' \
  'system.optimizers.discriminator.lr=tag(log,interval(1e-4,3e-3))' \
  'system.optimizers.generator.betas=choice([0.0,0.9],[0.5,0.999],[0.8,0.999])' \
  'system.lr_decay=choice(constant,cosine)'
