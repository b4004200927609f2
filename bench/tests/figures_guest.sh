#!/bin/sh
# figures_guest.sh PYTHON BENCHSRC BINDIR WORKDIR: figures.py --guest end to
# end on the host, with local_ssh.sh in place of ssh (no VM): paths with a
# space survive the quoting, the raw JSON comes back through tar, the
# forwarded environment reaches the benchmark, and the guest-side scratch
# and test files are removed.
set -eu
py=$1 src=$2 bin=$3 work=$4
rm -rf "$work"
g="$work/guest side"   # what the "guest" sees
mkdir -p "$g"
DAXVM_KERNEL_COMMIT=guest-commit "$py" "$src/figures.py" read --guest \
  --ssh "$src/tests/local_ssh.sh" --bin-dir "$bin" --bench-dir "$g/bench" \
  --guest-tmp "$g/tmp" --results "$work/results/run 1" --trials 2 \
  --read-sizes 4K,64K --read-orders seq --read-budget 256K
out="$work/results/run 1/read"
"$py" "$src/tests/check_results.py" "$out/raw" --benchmark read \
  --variants read,mmap,populate,daxvm,daxvm-batch --trials 2 --kernel-commit guest-commit
for f in data.csv plot.png commands.txt; do
  [ -s "$out/$f" ] || { echo "missing $out/$f"; exit 1; }
done
grep -q "local_ssh.sh '.*daxvm-bench read" "$out/commands.txt" ||
  { echo "commands.txt does not show the wrapped benchmark"; cat "$out/commands.txt"; exit 1; }
[ -z "$(ls -A "$g/tmp")" ] || { echo "guest scratch left: $(ls "$g/tmp")"; exit 1; }
[ ! -e "$g/bench/read" ] || { echo "guest test files left"; exit 1; }
echo "figures.py --guest: ok"
