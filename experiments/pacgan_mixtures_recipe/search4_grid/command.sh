# From the repository root: the fourth search on the grid (levers beyond the length, seed 101, 10,000 steps, R1
# gamma 0.1), run beside the other mixture's, one torch thread each, then its table with the baseline: the third
# search's 10,000-step cell of the same gamma (runs/s3/grid/1, from search3_grid/command.sh), which the cells repeat
# but for their one change.
experiments/pacgan_mixtures_recipe/search4.sh grid runs/s4
python -m gan_lab.report runs/s3/grid/1 runs/s4/grid --out experiments/pacgan_mixtures_recipe/search4_grid \
  --metrics modes_captured high_quality_pct kl_modes
