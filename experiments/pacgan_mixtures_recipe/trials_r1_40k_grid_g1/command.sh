# From the repository root: the grid's second pick (§6's seed-101 cell, the recipe + R1 at gamma 1, 40,000 steps:
# 25 / 86.0% / 0.0086, the likelier row to hold every mode) on seeds 0-9, then the table with PacGAN's rows
# (Table 1, 400,000 steps), §8's gamma-0.1 row and the gamma-1 10,000-step row beside. Run the trials.sh lines
# again to resume (ckpt_path=last). Each job's folder is named by its seed (hydra.sweep.subdir), so the two
# processes (one torch thread each) can share one sweep folder.
OVR="penalty=r1 system.penalty.weight=1.0 train.steps=40000 eval.every=4000 samples.every=40000 checkpoint.every=4000 ckpt_path=last"
# As this record ran: seeds 0-9 in one process (job folders 0-9, the seed's number), stopped by a session's end
# during seed 2 (after its step 4,000), then seed 2 resumed and seeds 3-9 in two processes:
#   experiments/pacgan_mixtures_recipe/trials.sh grid runs/r40g1/grid $OVR   # seeds 0, 1 done, seed 2 to step 4,000
experiments/pacgan_mixtures_recipe/trials.sh grid runs/r40g1/grid $OVR 'seed=range(2,6)' 'hydra.sweep.subdir=${seed}' &
experiments/pacgan_mixtures_recipe/trials.sh grid runs/r40g1/grid $OVR 'seed=range(6,10)' 'hydra.sweep.subdir=${seed}'; wait
python -m gan_lab.report runs/r40g1/grid --out experiments/pacgan_mixtures_recipe/trials_r1_40k_grid_g1 \
  --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN GAN row (10 trials, 400k steps)" modes_captured=17.3±0.8 high_quality_pct=94.8±0.7 kl_modes=0.70±0.07 \
  --reference "PacGAN4 row (10 trials, 400k steps)" modes_captured=24.8±0.2 high_quality_pct=93.6±0.6 kl_modes=0.04±0.01 \
  --reference "lab recipe + R1 gamma 0.1 at 40k steps (10 trials, trials_r1_40k_grid)" modes_captured=24.4±0.2 high_quality_pct=85.3±1.0 kl_modes=0.225±0.024 \
  --reference "lab recipe + R1 gamma 1 at 10k steps (10 trials, trials_r1_grid)" modes_captured=25±0 high_quality_pct=73.7±2.5 kl_modes=0.042±0.012 \
  --reference "issue goal (every trial)" modes_captured=25 high_quality_pct=95 kl_modes=0.03
