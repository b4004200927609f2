#!/usr/bin/env bash
# The quick-loop initramfs: busybox, ndctl, mkfs and their libraries.
# `make boot` appends a second, per-run cpio (the command and test binaries),
# so this base archive is rebuilt only when this script changes.
#
#   build-initramfs.sh OUT.cpio.gz
source "$(dirname "$0")/../scripts/lib.sh"

OUT=${1:?usage: build-initramfs.sh OUT.cpio.gz}
ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT

TOOLS="ndctl daxctl mke2fs e2fsck tune2fs dumpe2fs debugfs mkfs.xfs xfs_repair"

copy_with_libs() {
	local bin=$1 lib
	install -D "$bin" "$ROOT$bin"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$ROOT$lib" ] || install -D "$lib" "$ROOT$lib"
	done
}

mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,tmp,mnt,run,etc,root,lib64}
install -m755 /bin/busybox "$ROOT/bin/busybox"
for t in $TOOLS; do
	path=$(command -v "$t" || true)
	[ -n "$path" ] || die "$t not found on the host (run 'make deps')"
	copy_with_libs "$(readlink -f "$path")"
	[ "$(readlink -f "$path")" = "$path" ] || { mkdir -p "$ROOT$(dirname "$path")"; ln -sf "$(readlink -f "$path")" "$ROOT$path"; }
done
# mke2fs reads its defaults; ndctl wants its config dir.
[ -f /etc/mke2fs.conf ] && install -D /etc/mke2fs.conf "$ROOT/etc/mke2fs.conf"
mkdir -p "$ROOT/etc/ndctl.conf.d" "$ROOT/etc/ndctl/keys"
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOT/etc/passwd"
echo 'root:x:0:' >"$ROOT/etc/group"
install -m755 "$TOP/guest-image/quick-init.sh" "$ROOT/init"

(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "initramfs ready: ${OUT#$TOP/} ($(du -h "$OUT" | cut -f1))"
