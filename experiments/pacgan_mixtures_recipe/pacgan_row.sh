#!/bin/bash
# Issue 14 §1: PacGAN's GAN row (PACK=1) or its PacGAN2 / PacGAN4 rows with the lab's packing (PACK=2, 4), seeds
# 0-9, on the 2D protocol at STEPS steps (the paper: 400,000). The GAN row's settings (non-saturating loss, Adam
# lr 1e-4, betas (0.8, 0.999): experiment=pacgan_grid|ring as it ships) with D reading PACK samples joined into
# one input (system.nets.pack). D still sees 100 inputs per step, so G's batch is 100 x PACK, as in PacGAN's
# code (docs/protocols.md, the packing row). Run again to resume (ckpt_path=last).
# Usage: experiments/pacgan_mixtures_recipe/pacgan_row.sh grid|ring 1|2|4 SWEEP_DIR [STEPS] [more overrides]
set -euo pipefail
mixture=$1 pack=$2 dir=$3 steps=${4:-10000}
shift $(($# < 4 ? $# : 4))
case $mixture in grid|ring) ;; *) echo "mixture: grid or ring" >&2; exit 2 ;; esac
case $pack in 1|2|4) ;; *) echo "pack: 1, 2 or 4" >&2; exit 2 ;; esac
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun experiment=pacgan_$mixture 'seed=range(0,10)' \
  system.nets.pack="$pack" dataset.batch_size=$((100 * pack)) logger=none train.steps="$steps" eval.every=1000 \
  samples.every="$steps" checkpoint.every=1000 ckpt_path=last hydra.sweep.dir="$dir" "$@"
