#!/bin/bash
# Issue 14 §3: a reference run of a face experiment (the modern recipe, its default) and its classic recipe
# beside it at equal steps, in PRECISION (below), the metrics (encoder FID/KID/precision/recall) every 1,000
# steps. The two run side by side, one torch thread each, so their training clocks (train_time_s in
# metrics.json) are comparable. Run again to resume: ckpt_path=last goes on from each run folder's last.ckpt.
# PRECISION: bf16-mixed by default, as the recorded runs; 32 on a CPU without bf16 instructions (AVX512-BF16
# or AMX), where bf16 is emulated and a step takes about 30x longer (gan_lab warns at the start of such a run).
# EVAL_EVERY: 1,000 steps by default, as the recorded anime runs; a short run wants a quarter of its length.
# Usage: experiments/dcgan_anime/reference.sh dcgan_anime|dcgan_celeba OUT_DIR DATA_ROOT [STEPS] [PRECISION] [EVAL_EVERY]
#   anime:  experiments/dcgan_anime/reference.sh dcgan_anime runs/ref7 ../shared/data/anime-faces-16k
#   CelebA: experiments/dcgan_anime/reference.sh dcgan_celeba runs/celeba ../shared/data/celeba-sample 2500 bf16-mixed 625
set -euo pipefail
experiment=$1 out=$2 root=$3 steps=${4:-10000} precision=${5:-bf16-mixed} eval_every=${6:-1000}
mkdir -p "$out"
for recipe in "$experiment" "${experiment}_classic"; do
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab experiment="$recipe" dataset.root="$root" \
    train.steps="$steps" trainer.precision="$precision" eval.every="$eval_every" hydra.run.dir="$out/$recipe" \
    ckpt_path=last > "$out/$recipe.log" 2>&1 &
done
wait
