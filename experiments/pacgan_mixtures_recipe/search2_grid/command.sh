# From the repository root: the second search on the grid (one process per packing, side by side), then its table.
experiments/pacgan_mixtures_recipe/search2.sh grid 1 runs/s2grid &
experiments/pacgan_mixtures_recipe/search2.sh grid 4 runs/s2grid; wait
python -m gan_lab.report runs/s2grid/pack1_none runs/s2grid/pack1_r1 runs/s2grid/pack4_none runs/s2grid/pack4_r1 \
  --out experiments/pacgan_mixtures_recipe/search2_grid --metrics modes_captured high_quality_pct kl_modes
