#!/usr/bin/env bash
# Build everything that runs inside the guest into build/guest-bin/:
# our kselftest-style tests, the chosen subset of the kernel's own vm
# selftests (from the same source tree, against its exported headers), the
# suite runner and suite files. Static binaries, so the quick-loop
# initramfs and the Debian guest run the same files.
#
#   guest-bin.sh [debug]
source "$(dirname "$0")/lib.sh"

variant=${1:-}
KOBJ=$BUILD/kernel${variant:+-$variant}
HDRS=$KOBJ/usr-headers/include
OUT=$BUILD/guest-bin
SRC=$BUILD/linux
[ -d "$HDRS" ] || die "no kernel headers in ${HDRS#$TOP/}: run 'make kernel'"
mkdir -p "$OUT/selftests-vm"

CC=(ccache gcc -O2 -Wall -Werror -static -isystem "$HDRS" -I "$TOP/tests/guest")
# Our tests' own headers (tap.h, daxvm_util.h) count as inputs of every test.
LOCAL_H=("$TOP"/tests/guest/*.h "$TOP"/tests/guest-daxvm/*.h)
build_c() { # OUT SRC...
	local out=$1
	shift
	if [ ! -x "$out" ] || [ -n "$(find "$@" "$HDRS" "${LOCAL_H[@]}" -newer "$out" -print -quit)" ]; then
		"${CC[@]}" -o "$out" "$@" -lpthread -lrt
	fi
}

for c in "$TOP"/tests/guest/*.c; do
	build_c "$OUT/$(basename "$c" .c)" "$c"
done
# The DaxVM tests need the series' uapi header: built only when the kernel
# has it (the series is staged until it passes the whole suite). Only the
# stale ones are removed (removing all made every run rebuild them): all
# without the header, else those whose source is gone (also the old shim
# daxvm_preload.so, now the userlib's libdaxvm-preload.so, below).
stale() { # NAME (without .so)
	[ -f "$HDRS/linux/daxvm.h" ] || return 0
	[ ! -f "$TOP/tests/guest-daxvm/$1.c" ]
}
for f in "$OUT"/daxvm_*; do
	n=$(basename "$f" .so)
	[ "$n" != daxvm_guest_tests ] || continue # the userlib's, installed below
	if stale "$n"; then rm -f "$f"; fi
done
[ -f "$HDRS/linux/daxvm.h" ] || rm -f "$OUT/daxvm.suite"
if [ -f "$HDRS/linux/daxvm.h" ]; then
	for c in "$TOP"/tests/guest-daxvm/*.c; do
		build_c "$OUT/$(basename "$c" .c)" "$c"
	done
	install -m644 "$TOP/tests/guest-daxvm/daxvm.suite" "$OUT/"
fi
install -m755 "$TOP"/tests/guest/*.sh "$OUT/"
# The suite runner writes its records with the host's writer.
install -m755 "$TOP/scripts/result.py" "$OUT/"
install -m644 "$TOP"/tests/guest/*.list "$TOP"/tests/guest/*.suite "$TOP"/tests/guest/splat.ere "$OUT/"

# Kernel selftests: -Wall but not -Werror (their code, their warnings).
ST=$SRC/tools/testing/selftests/vm
grep -v '^#' "$TOP/tests/guest/selftests-vm.list" | cut -f1 | sort -u | while read -r t; do
	[ -n "$t" ] || continue
	extra=()
	grep -q 'vm_util.h' "$ST/$t.c" && extra+=("$ST/vm_util.c")
	out=$OUT/selftests-vm/$t
	if [ ! -x "$out" ] || [ "$ST/$t.c" -nt "$out" ] || [ -n "$(find "$HDRS" -newer "$out" -print -quit)" ]; then
		ccache gcc -O2 -Wall -static -isystem "$HDRS" -I "$SRC/tools/testing/selftests" \
			-o "$out" "$ST/$t.c" "${extra[@]}" -lrt -lpthread 2>"$out.build.log" ||
			die "building selftest $t failed: ${out#$TOP/}.build.log"
	fi
done
# ... and their suite file (name-args<TAB>command), for the VM and make boot.
grep -v '^#' "$TOP/tests/guest/selftests-vm.list" | while IFS='	' read -r t args; do
	[ -n "$t" ] || continue
	printf 'selftests-vm-%s%s\tcd $T/selftests-vm \&\& ./%s %s\n' "$t" "${args:+-${args%% *}}" "$t" "$args"
done >"$OUT/selftests-vm.suite"
echo "${variant:-normal}" >"$OUT/.variant"

# The userlib's guest tests and examples, static so they run in the
# initramfs too. Built against the same uapi headers as the kernel. Its
# preload shim is a shared library whatever BUILD_SHARED_LIBS says (it is
# preloaded into the guest's own dynamic programs: stress-ng, python3).
UL=$BUILD/userlib-guest
cmake -S "$TOP/userlib" -B "$UL" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_SHARED_LIBS=OFF \
	-DCMAKE_EXE_LINKER_FLAGS=-static >"$UL.log" 2>&1 ||
	die "configuring the userlib for the guest failed: ${UL#$TOP/}.log"
cmake --build "$UL" -j"$(nproc)" --target daxvm_guest_tests daxvm-info daxvm-read daxvm-write daxvm-grep daxvm-cat daxvm-ctl \
	daxvm-preload >>"$UL.log" 2>&1 || die "building the userlib for the guest failed: ${UL#$TOP/}.log"
for b in daxvm_guest_tests daxvm-info daxvm-read daxvm-write daxvm-grep daxvm-cat daxvm-ctl; do
	install -s -m755 "$(find "$UL" -type f -name "$b" -perm -u+x | head -n1)" "$OUT/$b"
done
install -s -m755 "$UL/preload/libdaxvm-preload.so" "$OUT/libdaxvm-preload.so"
install -m755 "$TOP/userlib/tests/preload-check.sh" "$OUT/preload-check.sh"

# The benchmarks and the aging tool (bench/, with its own static copy of
# the userlib), so `make figure-*` runs them in the guest from /opt/daxvm.
BB=$BUILD/bench-guest
cmake -S "$TOP/bench" -B "$BB" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXE_LINKER_FLAGS=-static \
	>"$BB.log" 2>&1 || die "configuring the benchmarks for the guest failed: ${BB#$TOP/}.log"
cmake --build "$BB" -j"$(nproc)" --target daxvm-bench daxvm-age >>"$BB.log" 2>&1 ||
	die "building the benchmarks for the guest failed: ${BB#$TOP/}.log"
for b in daxvm-bench daxvm-age; do
	install -s -m755 "$BB/$b" "$OUT/$b"
done

# One archive for the guest: a single transfer instead of one per file.
# Repacked only when a file's name, mode or content changed (install and
# the rebuilt suite files renew mtimes on every run): an unchanged archive
# is what lets `make vm` skip provisioning the guest again. guest-bin.sha
# is written after the archive; an archive newer than it came from
# elsewhere (another checkout's script) and is repacked.
TGZ=$BUILD/guest-bin.tgz
sum=$(cd "$OUT" && find . -type f -printf '%m %p\n' | LC_ALL=C sort |
	while read -r mode f; do printf '%s %s %s\n' "$mode" "$f" "$(sha256sum <"$f")"; done | sha256sum)
if [ ! -f "$TGZ" ] || [ "$TGZ" -nt "$BUILD/guest-bin.sha" ] ||
	[ "$(cat "$BUILD/guest-bin.sha" 2>/dev/null)" != "$sum" ]; then
	tar -C "$OUT" -czf "$TGZ.tmp" .
	mv "$TGZ.tmp" "$TGZ"
	echo "$sum" >"$BUILD/guest-bin.sha"
fi
