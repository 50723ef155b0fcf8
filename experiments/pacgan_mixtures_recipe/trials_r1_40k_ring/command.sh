# From the repository root: the ring's pick (§6: the recipe + R1 at gamma 1, 40,000 steps) on seeds 0-9, then the
# table with PacGAN's rows (Table 1, 400,000 steps) and the recipe + R1 at 10,000 steps (trials_r1_ring/) beside.
# Two processes side by side (seeds 0-4 and 5-9, one torch thread each); run the same two lines again to resume
# (ckpt_path=last): this record's run was stopped by a session's end after step 4,000 and resumed so.
OVR="penalty=r1 system.penalty.weight=1.0 train.steps=40000 eval.every=4000 samples.every=40000 checkpoint.every=4000 ckpt_path=last"
experiments/pacgan_mixtures_recipe/trials.sh ring runs/r40/ring/a $OVR 'seed=range(0,5)' &
experiments/pacgan_mixtures_recipe/trials.sh ring runs/r40/ring/b $OVR 'seed=range(5,10)'; wait
python -m gan_lab.report runs/r40/ring/a runs/r40/ring/b --out experiments/pacgan_mixtures_recipe/trials_r1_40k_ring \
  --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN GAN row (10 trials, 400k steps)" modes_captured=6.3±0.5 high_quality_pct=98.2±0.2 kl_modes=0.45±0.09 \
  --reference "PacGAN2 row (10 trials, 400k steps)" modes_captured=7.9±0.1 high_quality_pct=95.6±2.0 kl_modes=0.07±0.03 \
  --reference "lab recipe + R1 gamma 1 at 10k steps (10 trials, trials_r1_ring)" modes_captured=8±0 high_quality_pct=91.1±0.4 kl_modes=0.0027±0.0003 \
  --reference "issue goal (every trial)" modes_captured=8 high_quality_pct=97 kl_modes=0.03
