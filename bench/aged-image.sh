#!/bin/sh
# aged-image.sh: make an aged file-system image once, cache it by its
# parameters, and reuse it (aging takes long: minutes to hours).
#
#   bench/aged-image.sh [--fs ext4|xfs] [--size 4G] [--util 0.8] [--turnover 3]
#       [--seed 1] [--cache DIR] [--age PATH/daxvm-age] [--device /dev/pmemN]
#
# Without --device: builds <cache>/aged-<fs>-<size>-u<util>-t<turnover>-s<seed>-<tool>.img
# (a loop-mounted image file; needs root) and prints its path. The image
# holds the file system only, so it can be written onto any block device of
# at least that size (e.g. dd onto /dev/pmem0 in the guest).
# With --device: the image size is the device's; if the image is cached it is
# written onto the device, otherwise the device is formatted, aged in place
# and then copied into the cache. The device is left unmounted either way.
# <tool> is a hash of daxvm-age's source, so a changed aging tool makes a new
# image. The aging summary (JSON) is kept beside the image (.json).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fs=ext4 size=4G util=0.8 turnover=3 seed=1 device=
cache=${AGED_CACHE:-$here/../build/aged}
age=${DAXVM_AGE:-$here/../build/bench/daxvm-age}
while [ $# -gt 0 ]; do
  case $1 in
    --fs) fs=$2 ;;
    --size) size=$2 ;;
    --util) util=$2 ;;
    --turnover) turnover=$2 ;;
    --seed) seed=$2 ;;
    --cache) cache=$2 ;;
    --age) age=$2 ;;
    --device) device=$2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "aged-image.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
case $fs in ext4|xfs) ;; *) echo "aged-image.sh: --fs must be ext4 or xfs" >&2; exit 2 ;; esac
[ -x "$age" ] || { echo "aged-image.sh: $age not built (make bench-build)" >&2; exit 2; }
if [ -n "$device" ]; then
  [ -b "$device" ] || { echo "aged-image.sh: $device is not a block device" >&2; exit 2; }
  size=$(blockdev --getsize64 "$device")
fi
src_hash=$(cat "$here/src/age.cpp" "$here/src/common.cpp" 2>/dev/null | sha256sum | cut -c1-10)
name="aged-$fs-$size-u$util-t$turnover-s$seed-$src_hash"
img="$cache/$name.img"
mkdir -p "$cache"

mkfs_on() {
  case $fs in
    ext4) mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 "$1" ;;
    xfs) mkfs.xfs -q -f -m reflink=0 "$1" ;;
  esac
}

mnt=$(mktemp -d "${TMPDIR:-/tmp}/aged-mnt.XXXXXX")
tmp=
cleanup() {
  mountpoint -q "$mnt" && umount "$mnt"
  rmdir "$mnt" 2>/dev/null || true
  [ -n "$tmp" ] && rm -f "$tmp"
  return 0
}
trap cleanup EXIT INT TERM

age_mounted() {
  echo "aged-image.sh: aging $1 ($fs, $size bytes, util $util, turnover $turnover, seed $seed)" >&2
  "$age" --dir "$mnt/age" --util "$util" --turnover "$turnover" --seed "$seed" \
    --out "$mnt/age-summary.json" >/dev/null
  cp "$mnt/age-summary.json" "$2"
}

if [ -e "$img" ] && [ -e "$img.json" ]; then
  echo "aged-image.sh: cached $img" >&2
  if [ -n "$device" ]; then
    [ "$(stat -c %s "$img")" -le "$size" ] || { echo "aged-image.sh: image larger than $device" >&2; exit 1; }
    dd if="$img" of="$device" bs=4M conv=fsync status=none
    echo "aged-image.sh: wrote $img to $device" >&2
  fi
  echo "$img"
  exit 0
fi

if [ -n "$device" ]; then
  mkfs_on "$device"
  mount "$device" "$mnt"
  age_mounted "$device" "$img.json.tmp"
  umount "$mnt"
  tmp="$img.tmp"
  dd if="$device" of="$tmp" bs=4M conv=fsync status=none
else
  tmp="$img.tmp"
  rm -f "$tmp"
  truncate -s "$size" "$tmp"
  mkfs_on "$tmp"
  mount -o loop "$tmp" "$mnt"
  age_mounted "$img" "$img.json.tmp"
  umount "$mnt"
fi
mv "$tmp" "$img"
tmp=
mv "$img.json.tmp" "$img.json"
echo "$img"
