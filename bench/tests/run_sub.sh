#!/bin/sh
# run_sub.sh BENCH CHECKER PYTHON WORKDIR SUBCOMMAND VARIANTS -- ARGS...
# Runs one tiny daxvm-bench configuration in WORKDIR (fresh each time) and
# checks its JSON.
set -eu
bench=$1 checker=$2 python=$3 work=$4 sub=$5 variants=$6
shift 7
rm -rf "$work/$sub"
mkdir -p "$work/$sub"
DAXVM_KERNEL_COMMIT=test-commit "$bench" "$sub" --dir "$work/$sub/files" --out "$work/raw" \
  --trials 2 --warmup 1 --variants "$variants" "$@"
rm -rf "$work/$sub/files"
"$python" "$checker" "$work/raw" --benchmark "$sub" --variants "$variants" --trials 2 \
  --kernel-commit test-commit
