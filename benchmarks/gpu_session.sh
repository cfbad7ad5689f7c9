#!/usr/bin/env bash
# Everything worth running on a real NVIDIA GPU, in under 8 minutes, each step bounded: the GPU
# contract tests, advisor check (JSON and the 80-column text), advisor bench --quick, and
# advisor cluster --local on NCCL over every GPU. Outputs go to one folder, $OUT (the device
# tool's) or ./gpu-session-out; the summary at the end is what to paste into a note.
#
# Run from the repository root: bash benchmarks/gpu_session.sh
# It uses the machine's python3 and its torch (advisor never installs one). advisor's own
# dependencies that such an image may lack (pydantic) can travel as wheels in .whl/, made on a
# machine with internet from the repository root:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_17_x86_64 -d .whl pydantic pydantic-core \
#     annotated-types typing-inspection
set -u
cd "$(dirname "$0")/.." || exit 1
out=${OUT:-$PWD/gpu-session-out}
mkdir -p "$out"
py=${PYTHON:-python3}

if ! "$py" -c "import pydantic" 2>/dev/null && compgen -G ".whl/*.whl" >/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/advisor-site .whl/*.whl
  export PYTHONPATH=/tmp/advisor-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
ADVISOR_PYTHON=$("$py" -c 'import sys; print(sys.executable)')
export ADVISOR_PYTHON OMP_NUM_THREADS=1

summary=()
step() {  # step NAME SECONDS COMMAND...: run bounded, keep stdout/stderr/exit code in $out
  local name=$1 limit=$2
  shift 2
  local started=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >"$out/$name.out" 2>"$out/$name.err"
  local code=$?
  summary+=("$(printf '%-14s exit %-3s %4ss' "$name" "$code" $((SECONDS - started)))")
  echo "== $name (exit $code)"
  tail -n 40 "$out/$name.out"
}

step nvidia-smi 30 nvidia-smi
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
step check-json 90 "$py" -m advisor check --json
step check-text 90 env COLUMNS=80 "$py" -m advisor check
step pytest-gpu 180 "$py" -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu_contract.py
step bench 120 "$py" -m advisor bench --quick --no-save
if [ "${gpus:-0}" -ge 1 ]; then
  step cluster 120 "$py" -m advisor cluster --local "$gpus" --backend nccl --max-size 64M
fi

echo
echo "== summary ($gpus GPU(s); outputs in $out)"
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
