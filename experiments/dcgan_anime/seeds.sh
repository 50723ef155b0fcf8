#!/bin/bash
# Issue 14 §3: is the gap between the recipes noise? Both recipes on seeds 1-3 (the reference runs use 42) at
# a shorter length, scored at the end and halfway: EXPERIMENT (dcgan_anime, on anime-faces-16k, by default;
# dcgan_celeba for CelebA) beside EXPERIMENT_classic. One sweep per recipe, the two side by side, one torch
# thread each. Run again to resume (ckpt_path=last: each job folder's last.ckpt).
# PRECISION: bf16-mixed, as the reference runs; 32 on a CPU without bf16 instructions (AVX512-BF16 or AMX),
# where bf16 is emulated and a step takes about 30x longer (gan_lab warns at the start of such a run).
# Usage: experiments/dcgan_anime/seeds.sh OUT_DIR [STEPS] [DATA_ROOT] [PRECISION] [EXPERIMENT]
#   CelebA: experiments/dcgan_anime/seeds.sh runs/seeds_celeba 1000 ../shared/data/celeba-sample bf16-mixed dcgan_celeba
set -euo pipefail
out=$1 steps=${2:-2000} root=${3:-../shared/data/anime-faces-16k} precision=${4:-bf16-mixed}
base=${5:-dcgan_anime}
mkdir -p "$out"
for experiment in "$base" "${base}_classic"; do
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun experiment="$experiment" seed=1,2,3 \
    dataset.root="$root" trainer.precision="$precision" train.steps="$steps" eval.every=$((steps / 2)) \
    logger=none ckpt_path=last hydra.sweep.dir="$out/$experiment" > "$out/$experiment.log" 2>&1 &
done
wait
