#!/bin/bash
# Issue 14 §1, the second search: the first search's recipe (least squares, Adam lr_G 1.23e-4, lr_D 9.66e-4,
# betas (0, 0.9), cosine decay; trials.sh) with packing, an EMA of G and R1 switched on and off, 2 x 2 x 2
# cells at 10,000 steps on seed 100 (the reported trials use seeds 0-9). PACK=1 keeps PacGAN's batch of 100;
# PACK=4 packs as PacGAN4 (D reads 100 inputs of 4 samples, so G's batch is 400). One process per PACK, one
# torch thread each, so the two run side by side. Run again to resume (ckpt_path=last).
# Usage: experiments/pacgan_mixtures_recipe/search2.sh grid|ring 1|4 OUT_DIR [more overrides]
set -euo pipefail
mixture=$1 pack=$2 out=$3
shift 3
case $mixture in grid|ring) ;; *) echo "mixture: grid or ring" >&2; exit 2 ;; esac
case $pack in 1|4) ;; *) echo "pack: 1 or 4" >&2; exit 2 ;; esac
for penalty in none r1; do
  # R1's gamma 1: the data span 8 units with modes 0.05 wide; the default 10 is tuned for images in [-1, 1].
  weight=(); [ $penalty = r1 ] && weight=(system.penalty.weight=1.0)
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun experiment=pacgan_$mixture seed=100 \
    logger=none train.steps=10000 eval.every=1000 samples.every=10000 checkpoint.every=2500 ckpt_path=last \
    loss=least_squares system.optimizers.generator.lr=1.227e-4 system.optimizers.discriminator.lr=9.658e-4 \
    'system.optimizers.generator.betas=[0.0,0.9]' system.lr_decay=cosine \
    system.nets.pack="$pack" dataset.batch_size=$((100 * pack)) penalty=$penalty "${weight[@]}" 'ema=none,default' \
    hydra.sweep.dir="$out/pack${pack}_$penalty" "$@"
done
