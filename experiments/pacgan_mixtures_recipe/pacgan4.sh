#!/bin/bash
# Issue 14 §1: PacGAN's PacGAN4 row with the lab's packing, seeds 0-9, on the 2D protocol at STEPS steps (the
# paper: 400,000). The GAN row's settings (non-saturating loss, Adam lr 1e-4, betas (0.8, 0.999)) with D reading
# 4 samples joined into one input (system.nets.pack=4). D still sees 100 inputs per step, so G's batch grows to
# 400, as in PacGAN's code (docs/protocols.md, the packing row). Run again to resume (ckpt_path=last).
# Usage: experiments/pacgan_mixtures_recipe/pacgan4.sh grid|ring SWEEP_DIR [STEPS] [more overrides]
set -euo pipefail
mixture=$1 dir=$2 steps=${3:-10000}
shift $(($# < 3 ? $# : 3))
case $mixture in grid|ring) ;; *) echo "mixture: grid or ring" >&2; exit 2 ;; esac
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun experiment=pacgan_$mixture 'seed=range(0,10)' \
  system.nets.pack=4 dataset.batch_size=400 logger=none train.steps="$steps" eval.every=1000 \
  samples.every="$steps" checkpoint.every=1000 ckpt_path=last hydra.sweep.dir="$dir" "$@"
