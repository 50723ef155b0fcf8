#!/bin/bash
# Here, before a device run: put into .device/ (git ignores it; the run names it in `carry`) what
# benchmarks/gpu.sh needs on the GPU machine, whose image has PyTorch, Lightning and torchmetrics but not the
# rest of gan_lab's dependencies and cannot reach a package registry: their wheels for its Python 3.12, and
# the anime faces (the 4,000-image set: anime-faces-16k is 65 MB, over the 64 MiB a run may carry).
# Usage: benchmarks/gpu_carry.sh [FACES_DIR]   (default ../shared/data/anime-faces)
set -euo pipefail
cd "$(dirname "$0")/.."
faces=${1:-../shared/data/anime-faces}
grep -qx '/.device/' .git/info/exclude || echo '/.device/' >> .git/info/exclude
rm -rf .device && mkdir -p .device/whl
pins=$(grep -E '^(hydra-core|omegaconf|kornia|kornia-rs|hydra-joblib-launcher)==' constraints.txt)
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do
  platforms+=(--platform "$p")
done
# shellcheck disable=SC2086  # one argument per pin
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d .device/whl $pins
# omegaconf 2.3 needs antlr4-python3-runtime 4.9.*, published as source only: a pure-Python wheel built here.
python3 -m pip wheel -q --no-deps -w .device/whl antlr4-python3-runtime==4.9.3
cp -r "$faces" .device/anime-faces
du -sh .device .device/whl .device/anime-faces
