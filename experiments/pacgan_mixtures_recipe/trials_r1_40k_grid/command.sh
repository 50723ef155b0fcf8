# From the repository root: the third search's pick on the grid (§6: the recipe + R1 at gamma 0.1, 40,000 steps)
# on seeds 0-9, then the table with PacGAN's rows (Table 1, 400,000 steps) and the recipe + R1 at 10,000 steps
# (trials_r1_grid/) beside. Run the trials.sh lines again to resume (ckpt_path=last).
# As a user would run it: two processes side by side (seeds 0-4 and 5-9, one torch thread each).
#   experiments/pacgan_mixtures_recipe/trials.sh grid runs/r40/grid/a penalty=r1 system.penalty.weight=0.1 \
#     train.steps=40000 eval.every=4000 samples.every=40000 checkpoint.every=4000 ckpt_path=last 'seed=range(0,5)' &
#   experiments/pacgan_mixtures_recipe/trials.sh grid runs/r40/grid/b penalty=r1 system.penalty.weight=0.1 \
#     train.steps=40000 eval.every=4000 samples.every=40000 checkpoint.every=4000 ckpt_path=last 'seed=range(5,10)'; wait
# As this record ran: those two calls, in which seeds 1-4 and 7-9 failed before their first step (a key added to
# conf/system/gan.yaml while the sweeps ran: Hydra composes each job from the files on disk, the process had
# the code from before; their empty folders were removed), then the failed seeds in new sweep folders, from
# scratch, more processes to balance the load (seeds 4 and 9 alone):
OVR="penalty=r1 system.penalty.weight=0.1 train.steps=40000 eval.every=4000 samples.every=40000 checkpoint.every=4000 ckpt_path=last"
experiments/pacgan_mixtures_recipe/trials.sh grid runs/r40/grid/a $OVR 'seed=range(0,5)' &   # seed 0 done
experiments/pacgan_mixtures_recipe/trials.sh grid runs/r40/grid/b $OVR 'seed=range(5,10)'; wait  # seeds 5, 6 done
experiments/pacgan_mixtures_recipe/trials.sh grid runs/r40/grid/a2 $OVR 'seed=range(1,4)' &  # ran as range(1,5), stopped as seed 4 began
experiments/pacgan_mixtures_recipe/trials.sh grid runs/r40/grid/a3 $OVR seed=4 &
experiments/pacgan_mixtures_recipe/trials.sh grid runs/r40/grid/a4 $OVR seed=9 &  # started as seed 4 ended
experiments/pacgan_mixtures_recipe/trials.sh grid runs/r40/grid/b2 $OVR 'seed=range(7,9)'; wait  # ran as range(7,10), stopped as seed 9 began
python -m gan_lab.report runs/r40/grid/a runs/r40/grid/a2 runs/r40/grid/a3 runs/r40/grid/a4 \
  runs/r40/grid/b runs/r40/grid/b2 --out experiments/pacgan_mixtures_recipe/trials_r1_40k_grid --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN GAN row (10 trials, 400k steps)" modes_captured=17.3±0.8 high_quality_pct=94.8±0.7 kl_modes=0.70±0.07 \
  --reference "PacGAN4 row (10 trials, 400k steps)" modes_captured=24.8±0.2 high_quality_pct=93.6±0.6 kl_modes=0.04±0.01 \
  --reference "lab recipe + R1 gamma 1 at 10k steps (10 trials, trials_r1_grid)" modes_captured=25±0 high_quality_pct=73.7±2.5 kl_modes=0.042±0.012 \
  --reference "issue goal (every trial)" modes_captured=25 high_quality_pct=95 kl_modes=0.03
