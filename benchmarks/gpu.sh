#!/bin/bash
# On the GPU machine, from the repository root: issue 17's checks (benchmarks/gpu_proof.py), after
# benchmarks/gpu_carry.sh has filled .device/ here. From this workplace's device tool:
#   run(command="bash benchmarks/gpu.sh", carry=[".device"], timeout_s=540)
# Writes gpu_proof.md, gpu_proof.json, gpu_proof.log, gpu_proof.out and nvidia-smi.csv into $OUT.
set -uo pipefail
out=${OUT:-gpu_proof}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  .device/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/nvidia-smi.csv" 2>&1
python3 benchmarks/gpu_proof.py --data .device/anime-faces --out "$out" --work /tmp/gpu_proof_work \
  --budget-s "${BUDGET_S:-450}" "$@" 2>&1 | tee "$out/gpu_proof.out"
