# From the repository root: the fifth search, on the grid (§10's row missed only the high-quality goal, still
# rising at its last step): the grid's pick (the recipe + R1 at gamma 1) on seed 101, §6's search seed, with one
# change per cell against §6's 40,000-step cell of the same gamma (25 / 86.0% / 0.0086): twice the length
# (80,000 steps, the cosine decay stretched over it), or 40,000 steps at the full rate over the first half and
# the cosine decay over the second (§7's late decay, which gained 13 points of high quality at 10,000 steps).
# Two processes side by side, one torch thread each; run again to resume (ckpt_path=last). search3.sh's
# overrides with the last value given for a key (Hydra takes the last).
experiments/pacgan_mixtures_recipe/search3.sh grid runs/s5/len80k train.steps=80000 system.penalty.weight=1.0 &
experiments/pacgan_mixtures_recipe/search3.sh grid runs/s5/late40k train.steps=40000 system.penalty.weight=1.0 \
  system.lr_decay_from=0.5; wait
python -m gan_lab.report runs/s3/grid runs/s5/len80k/grid runs/s5/late40k/grid \
  --out experiments/pacgan_mixtures_recipe/search5_grid --metrics modes_captured high_quality_pct kl_modes \
  --reference "lab recipe + R1 gamma 1 at 40k steps (10 trials, trials_r1_40k_grid_g1)" modes_captured=25±0 high_quality_pct=88.2±1.1 kl_modes=0.0097±0.0009 \
  --reference "PacGAN4 row (10 trials, 400k steps)" modes_captured=24.8±0.2 high_quality_pct=93.6±0.6 kl_modes=0.04±0.01 \
  --reference "issue goal (every trial)" modes_captured=25 high_quality_pct=95 kl_modes=0.03
