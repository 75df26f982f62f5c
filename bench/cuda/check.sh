#!/usr/bin/env bash
# The CUDA check (mixed precision, cuDNN settings, GPU speed, the NCCL path of data-parallel training), one prepared
# run of < 8 minutes on one GPU. Not run yet: the sessions that wrote it had no GPU.
# Run from the repository root on a machine with an NVIDIA GPU and a PyTorch 2.x install (its libtorch is used).
# Prints: the unit tests, s/iteration of nnunet-ts vs PyTorch (torch_ref_step.py's network on CUDA, autocast +
# GradScaler) at the Dataset004 3d_fullres plan (AMP and fp32) and at a large-patch plan (128³, batch 2, 6 stages),
# each process's peak GPU memory (nvidia-smi), and a 20 × 50 Dataset004 training run with its validation Dice.
# Its parts: bench/cuda/amp-train-step.ts, bench/cuda/torch_amp_step.py, bench/distributed/nccl-check.ts.
set -euo pipefail
ROOT=$(pwd)
PY=${PYTHON:-python3}
WORK=${WORK:-/tmp/nnunet-cuda-check}
REF=${REF:-$ROOT/../shared/reference/torch_ref_step.py}
DATA=${DATA:-$ROOT/../shared/data}
ROUNDS=${ROUNDS:-2}
ITERS=${ITERS:-10}
mkdir -p "$WORK"
t0=$(date +%s)
say() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

say "build against $($PY -c 'import torch; print(torch.__version__, torch.version.cuda)')"
export LIBTORCH=$($PY -c 'import torch, os; print(os.path.dirname(torch.__file__))')
# native/CMakeLists.txt defines USE_C10D_NCCL when libtorch_cuda and nccl.h are found (pip's nvidia-nccl-cu* has nccl.h)
export NCCL_INCLUDE_DIR=$($PY -c 'import os, nvidia.nccl; print(os.path.join(os.path.dirname(nvidia.nccl.__file__), "include"))' 2>/dev/null || true)
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) node scripts/build-native.js > "$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
node --import tsx -e "import('./src/torch/index.js').then((t) => { if (!t.cudaIsAvailable()) { console.error('no CUDA in this build'); process.exit(1); } console.log('libtorch', t.torchVersion, 'devices', t.cudaDeviceCount()); t.configureCudnn('cuda'); console.log('cuDNN after configureCudnn(cuda):', t.cudnnSettings()); console.log('autocast inside withAutocast(cuda):', t.withAutocast('cuda', () => t.randn([8, 8]).to('cuda').matmul(t.randn([8, 8]).to('cuda')).dtype)); })"

say "unit tests (scaler, autocast state, cuDNN flags, slab export)"
node --import tsx --test test/training/units/grad-scaler.test.ts test/inference/slab-export.test.ts 2>&1 | grep -E '^# (pass|fail)|^not ok' || true

say "Dataset004 3d_fullres plans and a large-patch plan"
export nnUNet_raw=$DATA nnUNet_preprocessed=$WORK/pre nnUNet_results=$WORK/res
npx nnunet plan-and-preprocess -d 4 -c 3d_fullres -np "$(nproc)" > "$WORK/pp.log" 2>&1 || { tail -20 "$WORK/pp.log"; exit 1; }
PLANS=$WORK/pre/Dataset004_Hippocampus/nnUNetPlans.json
$PY - "$PLANS" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))
c = json.loads(json.dumps(p['configurations']['3d_fullres']))
a = c['architecture']['arch_kwargs']
n = 6
a.update(n_stages=n, features_per_stage=[min(32 * 2 ** i, 320) for i in range(n)], kernel_sizes=[[3, 3, 3]] * n,
         strides=[[1, 1, 1]] + [[2, 2, 2]] * (n - 1), n_conv_per_stage=[2] * n, n_conv_per_stage_decoder=[2] * (n - 1))
c.update(patch_size=[128, 128, 128], batch_size=2)
p['configurations']['3d_large'] = c
json.dump(p, open(sys.argv[1], 'w'), indent=1)
PYEOF

# peak GPU memory of one process, sampled by nvidia-smi every 0.2 s
peak_mem() {
  local pid=$1 peak=0 m
  while kill -0 "$pid" 2>/dev/null; do
    m=$(nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits 2>/dev/null | awk -F', ' -v p="$pid" '$1 == p { print $2 }')
    [ -n "$m" ] && [ "$m" -gt "$peak" ] && peak=$m
    sleep 0.2
  done
  echo "$peak"
}
run_side() { # label, command...
  local label=$1; shift
  "$@" > "$WORK/side.json" 2> "$WORK/side.err" & local pid=$!
  local mem; mem=$(peak_mem $pid)
  wait $pid || { cat "$WORK/side.err"; return 1; }
  echo "$label $(tail -1 "$WORK/side.json") peak_gpu_mib=$mem"
}

say "training iterations, $ROUNDS rounds alternated nnunet-ts / PyTorch, 3 warm-up + $ITERS timed each"
for cfg in 3d_fullres 3d_large; do
  for amp in amp no-amp; do
    [ "$cfg" = 3d_large ] && [ "$amp" = no-amp ] && continue
    flag=$([ "$amp" = no-amp ] && echo --no-amp || true)
    for r in $(seq "$ROUNDS"); do
      run_side "nnunet-ts $cfg $amp" node --import tsx bench/cuda/amp-train-step.ts "$PLANS" "$cfg" 3 1 "$ITERS" $flag
      run_side "pytorch   $cfg $amp" $PY bench/cuda/torch_amp_step.py "$REF" "$PLANS" "$cfg" 3 1 "$ITERS" $flag
    done
  done
done | tee "$WORK/steps.txt"
$PY - "$WORK/steps.txt" <<'PYEOF'
import json, re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, cfg, amp, rest = line.split(None, 3)
    d = json.loads(rest[:rest.rindex('}') + 1]); mem = int(re.search(r'peak_gpu_mib=(\d+)', rest).group(1))
    rows.setdefault((cfg, amp), {}).setdefault(side, []).append((d['s_per_iter'], mem))
print('| plan | AMP | nnunet-ts s/iter | PyTorch s/iter | ratio | nnunet-ts peak GPU MiB | PyTorch peak GPU MiB | ratio |')
print('|---|---|---:|---:|---:|---:|---:|---:|')
for (cfg, amp), s in rows.items():
    a = statistics.median(v for v, _ in s['nnunet-ts']); b = statistics.median(v for v, _ in s['pytorch'])
    ma = max(m for _, m in s['nnunet-ts']); mb = max(m for _, m in s['pytorch'])
    print(f'| {cfg} | {amp} | {a:.4f} | {b:.4f} | {a / b:.2f} | {ma} | {mb} | {ma / mb:.2f} |')
PYEOF

say "Dataset004 3d_fullres fold 0, 20 epochs x 50 iterations on cuda (AMP is the default there)"
npx nnunet train 4 3d_fullres 0 --device cuda --num-epochs 20 --iterations-per-epoch 50 --no-progress > "$WORK/train.log" 2>&1 || { tail -30 "$WORK/train.log"; exit 1; }
grep -E 'Epoch time|Pseudo dice' "$WORK/train.log" | tail -4
$PY -c "import json,sys; s=json.load(open(sys.argv[1])); print('validation Dice (foreground mean):', s['foreground_mean']['Dice'])" "$WORK/res/Dataset004_Hippocampus/nnUNetTrainer__nnUNetPlans__3d_fullres/fold_0/validation/summary.json"
$PY -c "import torch,sys; c=torch.load(sys.argv[1], map_location='cpu', weights_only=False); print('grad_scaler_state in checkpoint_final.pth:', c['grad_scaler_state'])" "$WORK/res/Dataset004_Hippocampus/nnUNetTrainer__nnUNetPlans__3d_fullres/fold_0/checkpoint_final.pth"
say "data-parallel over NCCL, 1 rank (collectives, then a 1-rank train started as RANK=0 WORLD_SIZE=1)"
node -e "const d = require('./native/build/Release/nnunet_torch.node').distributed; console.log('gloo', d.hasGloo, 'nccl', d.hasNccl); if (!d.hasNccl) process.exit(1)"
timeout 600 node --import tsx bench/distributed/nccl-check.ts
say "done"
