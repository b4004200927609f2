#!/usr/bin/env bash
# Debian 12 guest disk image for the VM: debootstrap into a directory, then
# mkfs.ext4 -d (no loop device or mount needed). Rebuilt only when its inputs
# (this script, the package list, the ssh key) change; prints "unchanged" or
# "built" last so callers (Ansible) can report change.
#
#   build-image.sh            -> build/image/rootfs.img
source "$(dirname "$0")/../scripts/lib.sh"

OUT=$BUILD/image
KEY=$BUILD/ssh/id_ed25519
mkdir -p "$OUT" "$(dirname "$KEY")"
[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C "daxvm-testbed" -f "$KEY"

suite=$(cfg image_suite)
mirror=$(cfg image_mirror)
packages=$(cfg image_packages | paste -sd, -)
size=$(cfg image_size_mib)
inputs=$( (cat "$0" "$KEY.pub"; echo "$suite $mirror $packages $size") | sha256sum | cut -d' ' -f1)

if [ -f "$OUT/rootfs.img" ] && [ "$(cat "$OUT/inputs.sha" 2>/dev/null)" = "$inputs" ]; then
	echo unchanged
	exit 0
fi
command -v debootstrap >/dev/null || die "debootstrap missing: run 'make deps'"
need_space "$OUT" $((size * 2 + 1024)) "the guest image"

ROOT=$OUT/rootfs
rm -rf "$ROOT"
log "debootstrap $suite into build/image/rootfs (log: build/image/debootstrap.log)"
debootstrap --variant=minbase --include="$packages" "$suite" "$ROOT" "$mirror" \
	>"$OUT/debootstrap.log" 2>&1 || die "debootstrap failed, see build/image/debootstrap.log"

echo daxvm-guest >"$ROOT/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 daxvm-guest\n' >"$ROOT/etc/hosts"
echo '/dev/vda / ext4 defaults,errors=remount-ro 0 1' >"$ROOT/etc/fstab"
install -d -m700 "$ROOT/root/.ssh"
install -m600 "$KEY.pub" "$ROOT/root/.ssh/authorized_keys"
cat >"$ROOT/etc/systemd/network/10-eth.network" <<'NET'
[Match]
Name=eth* en*
[Network]
DHCP=ipv4
NET
chroot "$ROOT" systemctl enable systemd-networkd >/dev/null 2>&1
# Nothing periodic may run during measurements.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer; do
	chroot "$ROOT" systemctl mask "$unit" >/dev/null 2>&1 || true
done
chroot "$ROOT" passwd -d root >/dev/null
rm -f "$ROOT"/var/cache/apt/archives/*.deb

log "writing build/image/rootfs.img (${size} MiB)"
rm -f "$OUT/rootfs.img.tmp"
mkfs.ext4 -q -F -L daxvm-root -d "$ROOT" "$OUT/rootfs.img.tmp" "${size}M"
mv "$OUT/rootfs.img.tmp" "$OUT/rootfs.img"
echo "$inputs" >"$OUT/inputs.sha"
echo built
