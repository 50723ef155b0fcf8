#!/bin/bash
# Issue 14 §2: the recipe search on PacGAN's Table 3 protocol (Metz et al.'s small networks, data drawn on the
# fly, batch 128 and the 25,600-sample evaluation unchanged), on seed 100 (the reported trials use seeds 0-9).
# One Optuna study per discriminator size, run side by side with one torch thread each: 10 trials (5 random,
# then TPE), each STEPS steps, scored once at the end on 10,000 samples (the reported trials use the
# protocol's 25,600); the objective is the last step's KL(triples || uniform), which falls both with more
# modes and with evener ones.
# The space: the loss, G's and D's learning rates, Adam's betas, the schedule, spectral norm on D, whether D
# sees real and fake in one call (system.joint_batches: shared BatchNorm statistics), and whether samples come
# from G or from its EMA (the EMA is kept in every trial; sample_with_ema picks which is scored).
# Usage: experiments/pacgan_stacked_recipe/search.sh half|quarter SWEEP_DIR [STEPS] [MNIST_DIR] [overrides]
set -euo pipefail
size=$1 dir=$2 steps=${3:-3000} mnist=${4:-../shared/data/mnist}
shift $(($# < 4 ? $# : 4))
case $size in half) width=4 ;; quarter) width=2 ;; *) echo "size: half or quarter" >&2; exit 2 ;; esac
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun experiment=pacgan_stacked_mnist seed=100 \
  dataset.root="$mnist" system.nets.d_width=$width metrics.num_samples=10000 logger=none \
  train.steps="$steps" eval.every=null samples.every=null checkpoint.every=null ema=default hydra/sweeper=optuna hydra.sweeper.direction=minimize \
  hydra.sweeper.n_trials=10 hydra.sweeper.n_jobs=1 hydra.sweeper.sampler.n_startup_trials=5 \
  eval.objective=kl_stacked hydra.sweeper.sampler.seed=0 hydra.sweep.dir="$dir" \
  'loss=choice(non_saturating,hinge,least_squares)' \
  'system.optimizers.generator.lr=tag(log,interval(5e-5,2e-3))' \
  'system.optimizers.discriminator.lr=tag(log,interval(5e-5,2e-3))' \
  'system.optimizers.generator.betas=choice([0.0,0.9],[0.5,0.99],[0.5,0.999])' \
  'system.lr_decay=choice(constant,cosine)' \
  'system.nets.spectral_norm=choice(false,true)' \
  'system.joint_batches=choice(true,false)' \
  'system.sample_with_ema=choice(true,false)' "$@"
