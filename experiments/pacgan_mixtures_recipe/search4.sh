#!/bin/bash
# Issue 14 §1, the fourth search: levers beyond the length for the last points of high quality. The third
# search's pick for the mixture (search3.sh: the recipe + R1, gamma 0.1 on the grid and 1 on the ring) at
# 10,000 steps on seed 101, with one change each: an EMA of G (ema=default: stylegan2-ada's half-life of 10,000
# images, 100 steps here; sampling and evaluation use the average), two D updates per G update
# (system.n_critic=2), or the full rate for the first half and the cosine decay over the second
# (system.lr_decay_from=0.5). The baseline is search3's 10,000-step cell of the same gamma: the same seed and
# settings, so it repeats exactly. Networks, data, batch and evaluation unchanged. Run again to resume.
# Usage: experiments/pacgan_mixtures_recipe/search4.sh grid|ring OUT_DIR [more overrides]
set -euo pipefail
mixture=$1 out=$2
shift 2
case $mixture in grid) gamma=0.1 ;; ring) gamma=1.0 ;; *) echo "mixture: grid or ring" >&2; exit 2 ;; esac
for cell in ema:ema=default n_critic2:system.n_critic=2 decay_from_half:system.lr_decay_from=0.5; do
  "$(dirname "$0")/trials.sh" "$mixture" "$out/$mixture/${cell%%:*}" seed=101 eval.every=2000 \
    checkpoint.every=2000 ckpt_path=last penalty=r1 system.penalty.weight=$gamma "${cell#*:}" "$@"
done
