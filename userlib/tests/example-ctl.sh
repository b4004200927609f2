#!/bin/sh
# daxvm-ctl: usage errors, this host's kernel, and a fake DaxVM proc/sys tree
# (uapi 1, so flush-zombies never reaches the kernel's syscall 451).
#   usage: example-ctl.sh DAXVM_CTL WORK_DIR
set -eu
ctl=$1
work=$2
die() { echo "example-ctl: $*" >&2; exit 1; }
# check RC STDOUT STDERR ARGS...: exact exit code, stdout and stderr.
check() {
  want_rc=$1 want_out=$2 want_err=$3
  shift 3
  rc=0
  "$ctl" "$@" >"$work/out" 2>"$work/err" || rc=$?
  out=$(cat "$work/out") err=$(cat "$work/err")
  if [ "$rc" != "$want_rc" ] || [ "$out" != "$want_out" ] || [ "$err" != "$want_err" ]; then
    die "daxvm-ctl $*: exit $rc, stdout '$out', stderr '$err'; want $want_rc, '$want_out', '$want_err'"
  fi
}
rm -rf "$work"
mkdir -p "$work"

# Usage errors: exit 2 on any host.
usage=$("$ctl" 2>&1 || true)
case $usage in usage:*) ;; *) die "no usage message: $usage" ;; esac
check 2 "" "unknown knob: bogus
$usage" get bogus
check 2 "" "unknown knob: daxvm_msync
$usage" get daxvm_msync
check 2 "" "$usage" get
check 2 "" "$usage" get msync / extra
check 2 "" "$usage" flush-zombies now
check 2 "" "invalid value: -1 (want an unsigned decimal)" set msync -1
check 2 "" "invalid value: 1x (want an unsigned decimal)" set msync 1x

# This host's kernel.
if [ -e /proc/fs/daxvm/version ]; then
  echo "host kernel has DaxVM: kernel-lacks-DaxVM checks skipped"
else
  check 1 "" "msync: kernel lacks DaxVM" get msync
  check 1 "" "page_tables_on: kernel lacks DaxVM" get page_tables_on /
  check 1 "" "zombie_max_pages: kernel lacks DaxVM" set zombie_max_pages 10
  check 1 "" "flush-zombies: kernel lacks DaxVM" flush-zombies
fi

# A fake DaxVM kernel with one ext4 mount, pmem7, holding $work.
proc=$work/proc
sys=$work/sys
mkdir -p "$proc/fs/daxvm" "$proc/sys/vm" "$proc/fs/ext4/pmem7"
echo 1 >"$proc/fs/daxvm/version"
echo 1 >"$proc/fs/daxvm/daxvm_msync"
echo 33 >"$proc/sys/vm/zombie_max_pages"
for k in page_tables_on zeroout_blocks prezero; do echo 0 >"$proc/fs/ext4/pmem7/daxvm_$k"; done
echo 1234 >"$proc/fs/ext4/pmem7/daxvm_kbytes_occupied"
echo 77 >"$proc/fs/ext4/pmem7/daxvm_prezeroed_blocks"
dev=$(stat -c %d "$work")  # glibc's dev_t encoding, as major()/minor() decode it
majmin=$(( ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff) )):$(( (dev & 0xff) | ((dev >> 12) & ~0xff) ))
mkdir -p "$sys/dev/block/$majmin"
printf 'MAJOR=1\nDEVNAME=pmem7\n' >"$sys/dev/block/$majmin/uevent"
export DAXVM_PROC_ROOT="$proc" DAXVM_SYS_ROOT="$sys"

check 0 33 "" get zombie_max_pages
check 0 33 "" get zombie_max_pages /  # PATH is ignored for global knobs
check 0 "" "" set zombie_max_pages 5
check 0 5 "" get zombie_max_pages
check 0 1 "" get msync
check 1 "" "msync: invalid DaxVM knob value" set msync 2
check 0 1234 "" get kbytes_occupied "$work"
check 0 77 "" get prezeroed_blocks "$work/proc"
check 1 "" "kbytes_occupied (pmem7): DaxVM knob is read-only" set kbytes_occupied 1 "$work"
check 0 "" "" set page_tables_on 1 "$work"
check 0 1 "" get page_tables_on "$work"
[ "$(cat "$proc/fs/ext4/pmem7/daxvm_page_tables_on")" = 1 ] || die "page_tables_on not written"
(cd "$work" && check 0 0 "" get prezero)  # PATH defaults to "."
check 1 "" "$work/nope: No such file or directory" get prezero "$work/nope"
check 1 "" "flush-zombies: this kernel's DaxVM does not support a requested option" flush-zombies
echo "ctl ok"
