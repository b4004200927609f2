#!/usr/bin/env bash
# Every prefix of the kernel series builds, boots and passes its smoke
# tests: kernel-patches/series is applied one patch at a time to a separate
# worktree of build/linux (build/series/linux, so work in build/linux is
# never touched) and after each patch
#   - each variant of SERIES_VARIANTS builds without warnings
#     (default "normal vanilla debug"; objects under build/series/kernel-*,
#     kept between runs, so with ccache each step is incremental);
#   - the normal kernel boots in the quick loop and runs SERIES_TESTS (tests
#     of build/guest-bin; a test of a mechanism a prefix lacks skips).
# Results: build/results/series-check.json, one record per patch and step,
# logs in build/series/; ends with the summary line.
#   series-check.sh                 (make series-check)
#   SERIES_FROM=N series-check.sh   start the checks at patch N (all are applied)
#   SERIES_TO=N series-check.sh     stop after patch N
source "$(dirname "$0")/lib.sh"

VARIANTS=${SERIES_VARIANTS:-normal vanilla debug}
TESTS=${SERIES_TESTS:-daxvm-flags daxvm-map daxvm-small daxvm-msync daxvm-reuse}
FROM=${SERIES_FROM:-1}
TO=${SERIES_TO:-9999}
DIR=$BUILD/series
TREE=$DIR/linux
OUT=$BUILD/results/series-check.json
PATCHES=$TOP/kernel-patches

[ -d "$BUILD/linux/.git" ] || die "no build/linux: run 'make kernel' first"
[ -x "$BUILD/guest-bin/run-suite.sh" ] || die "no build/guest-bin: run 'make guest-bin' first"
[ -f "$BUILD/initramfs.cpio.gz" ] || die "no initramfs: run 'make initramfs' first"
mkdir -p "$DIR" "$BUILD/results"
: >"$OUT"

# A worktree of build/linux at the base: shares its objects, not its
# checkout.
if [ ! -d "$TREE" ]; then
	git -C "$BUILD/linux" worktree prune
	git -C "$BUILD/linux" worktree add -q --detach "$TREE" daxvm-base ||
		die "could not make the worktree $TREE"
fi
git -C "$TREE" am --abort >/dev/null 2>&1 || true
git -C "$TREE" checkout -q --detach daxvm-base

# The smoke suite: the chosen lines of daxvm.suite.
suite=$DIR/smoke.suite
for t in $TESTS; do
	grep -P "^$t\t" "$BUILD/guest-bin/daxvm.suite" || die "no test $t in daxvm.suite"
done >"$suite"

n=0
while read -r p; do
	case $p in '' | '#'*) continue ;; esac
	n=$((n + 1))
	[ "$n" -le "$TO" ] || break
	name=$(printf '%02d' "$n")
	log "patch $name: $p"
	if ! git -C "$TREE" -c gc.auto=0 am -q --3way "$PATCHES/$p" >"$DIR/$name-am.log" 2>&1; then
		result_add "$OUT" "$name.apply" fail log="$DIR/$name-am.log"
		git -C "$TREE" am --abort >/dev/null 2>&1 || true
		break
	fi
	[ "$n" -ge "$FROM" ] || continue
	built_normal=0
	for v in $VARIANTS; do
		variant=${v#normal}
		log "patch $name: building ($v)"
		if KERNEL_SRC=$TREE KERNEL_OBJ=$DIR/kernel-$v "$TOP/scripts/kernel.sh" build-tree $variant </dev/null \
			>"$DIR/$name-build-$v.log" 2>&1; then
			result_add "$OUT" "$name.build-$v" pass
			[ "$v" != normal ] || built_normal=1
		else
			result_add "$OUT" "$name.build-$v" fail log="$DIR/$name-build-$v.log"
		fi
	done
	[ $built_normal = 1 ] || continue
	log "patch $name: booting the normal kernel ($TESTS)"
	# The suite travels in the command (the quick loop packs build/guest-bin
	# as it is).
	if KERNEL=$DIR/kernel-normal/arch/x86/boot/bzImage "$TOP/scripts/qemu.sh" boot \
		"sh /tests/quick-mount.sh && cat >/tmp/smoke.suite <<'EOS'
$(cat "$suite")
EOS
/tests/run-suite.sh /tmp/smoke.suite /tmp/r.json /tmp/logs" </dev/null >"$DIR/$name-boot.log" 2>&1; then
		result_add "$OUT" "$name.boot" pass
	else
		result_add "$OUT" "$name.boot" fail log="$DIR/$name-boot.log"
	fi
done <"$PATCHES/series"

"$TOP/scripts/summary.sh" "$OUT"
