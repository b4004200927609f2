#!/usr/bin/env bash
# QEMU front end of the testbed. Arguments are built as a list so that
# --dry-run can print exactly what would run.
#
#   qemu.sh [--dry-run] [--debug|--vanilla] boot CMD...   quick loop: initramfs, run CMD, power off
#   qemu.sh [--dry-run] [--debug] start         the guest image in the background, ssh forwarded
#   qemu.sh stop | crash | status              crash: kill -9, no guest shutdown
#   qemu.sh [--debug] prepare                   probe + NVDIMM checks, YAML for libvirt
#   qemu.sh accel                               print kvm or tcg (probed once per host boot)
source "$(dirname "$0")/lib.sh"

DRY=0
VARIANT=
while [ $# -gt 0 ]; do
	case $1 in
	--dry-run) DRY=1 ;;
	--debug) VARIANT=-debug ;;
	--vanilla) VARIANT=-vanilla ;; # the series with CONFIG_DAXVM=n
	*) break ;;
	esac
	shift
done

# The guest command line of ansible/group_vars/all.yml (vm_kernel_args),
# which the libvirt domain template passes too.
KERNEL_ARGS=$(cfg vm_kernel_args)

KDIR=$BUILD/kernel$VARIANT
KERNEL=${KERNEL:-$KDIR/arch/x86/boot/bzImage}
RUN=$BUILD/run
mkdir -p "$RUN"

QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || die "$QEMU not found: install qemu-system-x86 (make deps)"

# KVM is used only if a guest really boots with it: /dev/kvm alone is not
# proof (on some hosts KVM guests hang at boot). The answer is cached per
# host boot.
probe_accel() {
	local cache=$BUILD/.accel boot_id
	boot_id=$(cat /proc/sys/kernel/random/boot_id)
	if [ -f "$cache" ] && [ "$(head -n1 "$cache")" = "$boot_id" ]; then
		tail -n1 "$cache"
		return
	fi
	local accel=tcg out
	if [ -w /dev/kvm ] && [ -f "$KERNEL" ]; then
		out=$(timeout 30 "$QEMU" -accel kvm -cpu host -m 256 -nodefaults -no-reboot \
			-display none -serial stdio -kernel "$KERNEL" \
			-append "console=ttyS0 panic=-1 rdinit=/nonexistent" 2>/dev/null || true)
		# Without an initramfs the kernel panics on the missing root: reaching
		# that far means KVM executes the guest.
		grep -q "Kernel panic" <<<"$out" && accel=kvm
	fi
	printf '%s\n%s\n' "$boot_id" "$accel" >"$cache"
	echo "$accel"
}

accel_args() {
	local accel
	accel=${ACCEL:-$(probe_accel)}
	if [ "$accel" = kvm ]; then
		ARGS+=(-accel kvm -cpu host)
	else
		[ -n "${ACCEL:-}" ] || echo "notice: KVM does not boot a guest here; using TCG (-cpu $(cfg vm_tcg_cpu))" >&2
		ARGS+=(-accel tcg -cpu "$(cfg vm_tcg_cpu)")
	fi
	# ICOUNT=N: the guest clock counts guest instructions (2^N ns each), so
	# timings leave out QEMU's own costs (translation, its software TLB)
	# and do not depend on the host's load. TCG only.
	if [ -n "${ICOUNT:-}" ]; then
		[ "$accel" = tcg ] || die "ICOUNT needs TCG; KVM runs on real time"
		ARGS+=(-icount "shift=$ICOUNT,align=off,sleep=off")
	fi
}

# One memory-backend-file + nvdimm device per configured NVDIMM. The files
# persist; they are created sparse at the configured size and checked.
nvdimm_args() {
	local prefix=$1 name size_mib file
	while IFS=$'\t' read -r name size_mib; do
		file=$BUILD/${prefix}${name}.img
		if [ ! -e "$file" ]; then
			need_space "$BUILD" 64 "the NVDIMM backing file $file"
			truncate -s "${size_mib}M" "$file"
		fi
		check_backing "$file" "$size_mib"
		ARGS+=(-object "memory-backend-file,id=mem-$name,share=on,mem-path=$file,size=${size_mib}M,align=2M"
			-device "nvdimm,id=nv-$name,memdev=mem-$name")
	done < <(cfg --fields nvdimms name size_mib)
}

check_backing() { # FILE SIZE_MIB
	local bytes want=$(($2 * 1024 * 1024))
	bytes=$(stat -c %s "$1")
	[ $(($2 % 128)) -eq 0 ] ||
		die "NVDIMM size ${2} MiB is not a multiple of 128 MiB (nvdimms in ansible/group_vars/all.yml)"
	[ "$bytes" -ge "$want" ] ||
		die "NVDIMM backing file $1 is too small: $bytes bytes, need $want"
	[ $((bytes % (2 * 1024 * 1024))) -eq 0 ] ||
		die "NVDIMM backing file $1 is not 2 MiB aligned in size ($bytes bytes)"
}

# Can QEMU's ssh forward listen on loopback port $1? Binds as slirp does
# (SO_REUSEADDR: connections of an earlier VM in TIME_WAIT do not count).
port_free() {
	"$PY" - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# Who holds TCP port $1, for the error message: "NAME (pid N)" per process.
port_holder() {
	local who= pid
	if command -v ss >/dev/null; then
		who=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o '("[^"]*",pid=[0-9]*' |
			sed -E 's/^\("([^"]*)",pid=([0-9]+)$/\1 (pid \2)/' | sort -u | paste -sd, - | sed 's/,/, /g')
	fi
	if [ -z "$who" ] && command -v fuser >/dev/null; then
		for pid in $(fuser -n tcp "$1" 2>/dev/null); do
			who="${who:+$who, }$(cat "/proc/$pid/comm" 2>/dev/null || echo '?') (pid $pid)"
		done
	fi
	echo "${who:-a process this user cannot see (try: ss -ltnp 'sport = :$1')}"
}

base_args() {
	MEM=$(cfg vm_memory_mib)
	ARGS=("$QEMU" -nodefaults -no-user-config -display none)
	accel_args
	nvdimm_args "$1"
	# Under ICOUNT one vCPU: QEMU 7.2 hangs at "Booting SMP configuration"
	# with two (sleep=on or off).
	local cpus
	cpus=$(cfg vm_cpus)
	[ -z "${ICOUNT:-}" ] || cpus=1
	# Memory arithmetic of both providers: ansible/group_vars/all.yml.
	ARGS+=(-machine pc,nvdimm=on -m "${MEM}M,slots=$(cfg vm_memory_slots),maxmem=$(cfg vm_maxmem_mib)M"
		-smp "$cpus" -kernel "$KERNEL")
}

run_or_print() {
	if [ $DRY = 1 ]; then
		printf '%q ' "${ARGS[@]}"
		echo
		exit 0
	fi
}

[ -f "$KERNEL" ] || [ "${1:-}" = stop ] || [ "${1:-}" = status ] ||
	die "no kernel at ${KERNEL#$TOP/}: run 'make kernel${VARIANT:+ DEBUG=1}'"

cmd_boot() {
	local extra base=$BUILD/initramfs.cpio.gz log=$RUN/boot$VARIANT.log
	[ $# -gt 0 ] || die "usage: qemu.sh boot CMD..."
	[ -f "$base" ] || die "no initramfs: run 'make initramfs'"
	extra=$RUN/boot-extra.cpio.gz
	# The quick loop has its own NVDIMM files (the VM may hold the others)
	# and initrd. Two boots at once would share them, and with them each
	# guest's memmap (kept on the namespace) and file system: seen as
	# oopses on corrupt struct pages.
	if [ $DRY = 0 ]; then
		exec 8>"$RUN/boot.lock"
		if ! flock -n 8; then
			log "another quick-loop boot uses its NVDIMM files; waiting for it"
			flock 8
		fi
	fi
	local stage
	stage=$(mktemp -d)
	mkdir -p "$stage/tests"
	printf '%s\n' "$*" >"$stage/run-cmd.sh"
	[ -d "$BUILD/guest-bin" ] && cp -a "$BUILD/guest-bin/." "$stage/tests/"
	(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$extra"
	rm -rf "$stage"
	cat "$base" "$extra" >"$RUN/boot-initrd.cpio.gz"
	base_args boot-
	ARGS+=(-no-reboot -serial stdio -initrd "$RUN/boot-initrd.cpio.gz"
		-append "console=ttyS0 panic=-1 oops=panic quiet $KERNEL_ARGS ${BOOT_APPEND:-}")
	run_or_print
	timeout "${BOOT_TIMEOUT:-600}" "${ARGS[@]}" </dev/null 2>&1 | tee "$log" |
		sed -un '/=== DAXVM-BEGIN/,/=== DAXVM-EXIT/p' | sed -u '1d;$d'
	local rc
	rc=$(sed -n 's/.*=== DAXVM-EXIT=\([0-9]*\).*/\1/p' "$log" | tr -d '\r')
	[ -n "$rc" ] || die "the guest did not finish the command (console log: ${log#$TOP/})"
	# The in-guest runner's splat list, plus panics.
	local splat
	splat="$(cat "$TOP/tests/guest/splat.ere")|Kernel panic"
	if grep -qE "$splat" "$log"; then
		grep -nE "$splat" "$log" | head >&2
		die "kernel splat during the run (console log: ${log#$TOP/})"
	fi
	return "$rc"
}

pidfile=$RUN/qemu.pid
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

cmd_start() {
	local port image=$BUILD/image/rootfs.img console=$RUN/console.log
	# A VM running another kernel build (or variant) is restarted, so tests
	# always run on what was just built.
	local want
	want="$(stat -c '%n %Y' "$KERNEL")"
	# A dry run only prints the command line: whether a VM runs (or what
	# holds the port) is for the real start to find out.
	if [ $DRY = 0 ] && running; then
		if [ "$(cat "$RUN/vm.kernel" 2>/dev/null)" = "$want" ]; then
			echo "VM already running (pid $(cat "$pidfile"))"
			return 0
		fi
		log "kernel changed since the VM started: restarting it"
		cmd_stop
	fi
	[ -f "$image" ] || die "no guest image: run 'make image'"
	base_args ""
	port=$(cfg vm_ssh_port)
	ARGS+=(-drive "file=$image,format=raw,if=virtio,cache=writeback"
		-netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:22"
		-device virtio-net-pci,netdev=net0
		-serial "file:$console" -daemonize -pidfile "$pidfile"
		-append "console=ttyS0 root=/dev/vda rw net.ifnames=0 $KERNEL_ARGS ${BOOT_APPEND:-}")
	run_or_print
	port_free "$port" ||
		die "loopback port $port is already in use by $(port_holder "$port"): stop it or set vm_ssh_port in ansible/local.yml"
	: >"$console"
	"${ARGS[@]}"
	echo "$want" >"$RUN/vm.kernel"
	echo "VM started (pid $(cat "$pidfile")), console log: ${console#$TOP/}"
}

# For the libvirt provider: the same accelerator probe and NVDIMM file
# checks, printed as YAML for the role's domain template.
cmd_prepare() {
	base_args ""
	local accel=tcg
	[[ " ${ARGS[*]} " == *" -accel kvm "* ]] && accel=kvm
	printf 'accel: %s\nkernel: %s\nkernel_stamp: "%s"\n' "$accel" "$KERNEL" "$(stat -c '%n %Y' "$KERNEL")"
}

cmd_stop() {
	if running; then
		local pid
		pid=$(cat "$pidfile")
		# A clean guest shutdown keeps the root file system consistent;
		# the NVDIMM contents are safe either way (shared file mapping).
		timeout 10 "$TOP/scripts/ssh.sh" systemctl poweroff >/dev/null 2>&1 || true
		for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		log "VM stopped"
	fi
	rm -f "$pidfile"
}

# Power cut: no guest shutdown, for the crash-consistency tests.
cmd_crash() {
	running || die "VM is not running"
	kill -9 "$(cat "$pidfile")"
	rm -f "$pidfile"
	log "VM killed"
}

case ${1:-} in
boot) shift; cmd_boot "$@" ;;
crash) cmd_crash ;;
start) cmd_start ;;
prepare) cmd_prepare ;;
stop) cmd_stop ;;
status) running && echo running || echo stopped ;;
accel) probe_accel ;;
*) die "usage: qemu.sh [--dry-run] [--debug] boot CMD...|start|stop|crash|status|accel" ;;
esac
