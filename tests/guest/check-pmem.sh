#!/bin/sh
# The emulated NVDIMMs are fsdax namespaces and each mount is DAX.
#   check-pmem.sh N_NAMESPACES MOUNTPOINT...
set -u
want=$1
shift
n=$(ndctl list -N | grep -c '"mode":"fsdax"')
echo "fsdax namespaces: $n (want $want)"
ndctl list -N
[ "$n" -eq "$want" ] || exit 1
for m in "$@"; do
	opts=$(awk -v m="$m" '$2 == m {print $4}' /proc/mounts)
	echo "$m: $opts"
	case ",$opts," in *,dax=always,* | *,dax,*) ;; *) echo "$m is not mounted dax=always"; exit 1 ;; esac
	dev=$(awk -v m="$m" '$2 == m {print $1}' /proc/mounts)
	case $dev in /dev/pmem*) ;; *) echo "$m is on $dev, not a pmem device"; exit 1 ;; esac
done
