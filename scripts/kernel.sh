#!/usr/bin/env bash
# Kernel pipeline: fetch Debian's linux-source-6.1, keep it as a git tree
# under build/linux (base commit + one commit per patch), build bzImage.
#
#   kernel.sh prepare        fetch + unpack + apply kernel-patches/series
#   kernel.sh build [debug|vanilla]
#                            configure and build into build/kernel[-VARIANT]/
#                            (vanilla: the series with CONFIG_DAXVM=n)
#   kernel.sh export         write the tree's commits back to kernel-patches/
#   kernel.sh build-tree [debug|vanilla]
#                            build KERNEL_SRC into KERNEL_OBJ as it is, no
#                            series applied (scripts/series-check.sh)
source "$(dirname "$0")/lib.sh"

SRC=${KERNEL_SRC:-$BUILD/linux}
PATCHES=${KERNEL_PATCHES:-$TOP/kernel-patches}
STAMP=$BUILD/.kernel-patches.sha
base_val() { sed -n "s/^$1=//p" "$PATCHES/BASE"; }

fetch_tarball() {
	local pkg ver sha served dl deb
	pkg=$(base_val package)
	ver=$(base_val version)
	sha=$(base_val sha256)
	dl=$BUILD/dl
	mkdir -p "$dl"
	if [ -f "$dl/$pkg.tar.xz" ]; then
		echo "$dl/$pkg.tar.xz"
		return
	fi
	need_space "$BUILD" 4000 "the kernel source"
	served=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
	[ -n "$served" ] && [ "$served" != "(none)" ] ||
		die "apt does not serve $pkg (run 'make deps' or apt-get update)"
	if ! apt-cache madison "$pkg" | awk '{print $3}' | grep -qxF "$ver"; then
		warn "pinned $pkg $ver is no longer served; building $served instead"
		ver=$served
		sha=
	fi
	log "fetching $pkg=$ver with apt"
	(cd "$dl" && apt-get download "$pkg=$ver" >/dev/null)
	deb=$(ls "$dl"/"${pkg}"_*.deb | head -n1)
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$(base_val tarball)" \
		>"$dl/$pkg.tar.xz.part"
	if [ -n "$sha" ]; then
		echo "$sha  $dl/$pkg.tar.xz.part" | sha256sum -c --quiet - ||
			die "sha256 of $pkg $ver does not match kernel-patches/BASE"
	fi
	mv "$dl/$pkg.tar.xz.part" "$dl/$pkg.tar.xz"
	echo "$ver" >"$dl/$pkg.version"
	echo "$dl/$pkg.tar.xz"
}

patches_sha() {
	(cd "$PATCHES" && cat series $(grep -v '^#' series) 2>/dev/null) | sha256sum | cut -d' ' -f1
}

unpack_base() {
	local tarball
	tarball=$(fetch_tarball)
	log "unpacking $(basename "$tarball") into build/linux"
	rm -rf "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -xJf "$tarball" -C "$SRC.tmp" --strip-components=1
	(
		cd "$SRC.tmp"
		git init -q -b base
		git config user.name "DaxVM testbed"
		git config user.email "daxvm@localhost"
		git config core.autocrlf false
		# No automatic gc: it would repack ~80k loose objects in the
		# background, holding the build lock (fd 9) and both cores.
		git config gc.auto 0
		# Stable abbreviated hashes in exported patches (index lines).
		git config core.abbrev 9
		git add -A -f . >/dev/null
		git commit -q -m "Debian $(base_val package) $(cat "$BUILD/dl/$(base_val package).version")"
		git tag daxvm-base
	)
	mv "$SRC.tmp" "$SRC"
}

apply_series() {
	local p
	(cd "$SRC" && git am --abort >/dev/null 2>&1 || true)
	(cd "$SRC" && git checkout -q -B daxvm daxvm-base)
	while read -r p; do
		case $p in '' | '#'*) continue ;; esac
		[ -f "$PATCHES/$p" ] || die "patch listed in series is missing: $p"
		if ! (cd "$SRC" && git -c gc.auto=0 am -q --3way "$PATCHES/$p" >/dev/null 2>&1); then
			(cd "$SRC" && git am --abort >/dev/null 2>&1 || true)
			die "patch does not apply: kernel-patches/$p"
		fi
	done <"$PATCHES/series"
}

prepare() {
	local want
	[ -d "$SRC/.git" ] || unpack_base
	want=$(patches_sha)
	if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
		return 0
	fi
	if [ -n "$(cd "$SRC" && git status --porcelain --untracked-files=no)" ] && [ "${FORCE:-0}" != 1 ]; then
		die "build/linux has uncommitted edits and kernel-patches/ changed; commit and 'make kernel-export', or FORCE=1 to discard"
	fi
	log "applying kernel-patches/series"
	apply_series
	echo "$want" >"$STAMP"
}

fragments() { # VARIANT
	case ${1:-} in
	'') echo "$PATCHES/config/base.config $PATCHES/config/daxvm.config" ;;
	debug) echo "$PATCHES/config/base.config $PATCHES/config/daxvm.config $PATCHES/config/debug.config" ;;
	vanilla) echo "$PATCHES/config/base.config $PATCHES/config/vanilla.config" ;;
	*) die "unknown kernel variant '$1' (debug or vanilla)" ;;
	esac
}

# bzImage of OBJ was built from the tree's HEAD and nothing changed since.
image_current() { # OBJ
	local image=$1/arch/x86/boot/bzImage
	[ -f "$image" ] && [ "$(cat "$1/commit" 2>/dev/null)" = "$(cd "$SRC" && git rev-parse HEAD)" ] &&
		[ -z "$(find "$SRC" -path "$SRC/.git" -prune -o -newer "$image" -type f -print -quit)" ]
}

# Read-only checks, so that a step with nothing to do does not wait for a
# build of the other variant: the series is applied ...
prepared() {
	[ -d "$SRC/.git" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$(patches_sha)" ]
}

# ... and the variant's config and image are current.
# The object directory of VARIANT: build/kernel[-VARIANT], or KERNEL_OBJ.
obj_dir() { # VARIANT
	echo "${KERNEL_OBJ:-$BUILD/kernel${1:+-$1}}"
}

up_to_date() { # VARIANT
	local obj
	obj=$(obj_dir "$1")
	prepared && [ "$(cat "$obj/.fragments.sha" 2>/dev/null)" = "$(cat $(fragments "$1") | sha256sum | cut -d' ' -f1)" ] &&
		image_current "$obj"
}

build() {
	local variant=${1:-} obj frags jobs
	obj=$(obj_dir "$variant")
	frags=$(fragments "$variant")
	need_space "$BUILD" 3000 "the kernel build"
	mkdir -p "$obj"
	jobs=$(nproc)
	# Paths relative to the checkout in ccache's keys: a fresh clone (CI) in
	# another directory still hits the cache.
	export CCACHE_BASEDIR=$TOP
	local mk=(make -C "$SRC" O="$obj" -j"$jobs" CC="ccache gcc" HOSTCC="ccache gcc")
	# Reconfigure only when a fragment changed: keeps incremental builds fast.
	local cfgsum reconf=0
	cfgsum=$(cat $frags | sha256sum | cut -d' ' -f1)
	if [ ! -f "$obj/.config" ] || [ "$(cat "$obj/.fragments.sha" 2>/dev/null)" != "$cfgsum" ]; then
		log "configuring kernel${variant:+ ($variant)}"
		"${mk[@]}" -s defconfig kvm_guest.config >/dev/null
		(cd "$SRC" && KCONFIG_CONFIG="$obj/.config" \
			scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" $frags >/dev/null)
		"${mk[@]}" -s olddefconfig >/dev/null
		check_config "$obj/.config" $frags
		echo "$cfgsum" >"$obj/.fragments.sha"
		reconf=1
	fi
	local image=$obj/arch/x86/boot/bzImage
	if [ $reconf = 0 ] && image_current "$obj"; then
		echo "kernel${variant:+ ($variant)} is up to date"
		return 0
	fi
	log "building bzImage${variant:+ ($variant)} (log: ${obj#$TOP/}/build.log)"
	if ! "${mk[@]}" bzImage >"$obj/build.log" 2>&1; then
		grep -E 'error|Error' "$obj/build.log" | head -n 20 >&2
		die "kernel build failed, see ${obj#$TOP/}/build.log"
	fi
	if grep -E 'warning:' "$obj/build.log" >&2; then
		die "kernel build has warnings, see ${obj#$TOP/}/build.log"
	fi
	"${mk[@]}" -s headers_install INSTALL_HDR_PATH="$obj/usr-headers" >/dev/null
	(cd "$SRC" && git rev-parse HEAD) >"$obj/commit"
	log "kernel ready: ${obj#$TOP/}/arch/x86/boot/bzImage"
}

# Every option a fragment asks for must survive olddefconfig; a silently
# dropped option (unmet dependency) would make a test pass for the wrong reason.
check_config() {
	local config=$1 line bad=0
	shift
	# Later fragments override earlier ones: check each key's last value.
	while read -r line; do
		local key=${line%%=*} val=${line#*=}
		if [ "$val" = n ]; then
			grep -q "^$key=" "$config" && { warn "$key should be off"; bad=1; }
		elif ! grep -qxF "$line" "$config"; then
			warn "$line did not stick ($(grep "^$key=" "$config" || echo unset))"
			bad=1
		fi
	done < <(cat "$@" | grep '^CONFIG_' | tac | awk -F= '!seen[$1]++' | tac)
	[ $bad = 0 ] || die "kernel config fragments are not satisfied"
}

# kernel-patches/cover-letter.txt: git format-patch's cover letter of the
# series (shortlog, diffstat) around the text of cover-letter.body (first
# line: the subject). Dated like the last patch, so an unchanged series
# exports an unchanged letter.
cover_letter() {
	local body=$PATCHES/cover-letter.body tmp
	[ -f "$body" ] || return 0
	tmp=$(mktemp -d)
	(cd "$SRC" && git format-patch -q --cover-letter --no-signature --zero-commit \
		-o "$tmp" daxvm-base..HEAD) || die "git format-patch --cover-letter failed"
	"$PY" - "$tmp/0000-cover-letter.patch" "$body" "$(cd "$SRC" && git log -1 --format=%aD)" \
		>"$PATCHES/cover-letter.txt" <<'PY' || die "could not write the cover letter"
import sys
letter, body, date = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3]
subject, _, blurb = body.partition("\n")
assert "*** SUBJECT HERE ***" in letter and "*** BLURB HERE ***" in letter
lines = [f"Date: {date}" if l.startswith("Date: ") else l for l in letter.split("\n")]
letter = "\n".join(lines).replace("*** SUBJECT HERE ***", subject.strip())
sys.stdout.write(letter.replace("*** BLURB HERE ***", blurb.strip("\n")))
PY
	rm -rf "$tmp"
}

export_series() {
	local n
	(cd "$SRC" && [ -z "$(git status --porcelain --untracked-files=no)" ]) ||
		die "build/linux has uncommitted edits: commit them first"
	n=$(cd "$SRC" && git rev-list --count daxvm-base..HEAD)
	rm -f "$PATCHES"/*.patch
	if [ "$n" -gt 0 ]; then
		(cd "$SRC" && git format-patch -q --no-signature --zero-commit \
			-o "$PATCHES" daxvm-base..HEAD)
	fi
	(cd "$PATCHES" && ls -1 *.patch 2>/dev/null) >"$PATCHES/series" || true
	[ "$n" -eq 0 ] || cover_letter
	patches_sha >"$STAMP"
	log "exported $n patches to kernel-patches/"
}

if [ "${1:-}" = build ] && up_to_date "${2:-}"; then
	echo "kernel${2:+ ($2)} is up to date"
	exit 0
fi
[ "${1:-}" = prepare ] && prepared && exit 0
# One kernel build at a time per checkout: two makes in one object tree
# corrupt it, and two on 2 cores only slow each other down.
mkdir -p "$BUILD"
exec 9>"$BUILD/.kernel.lock"
if ! flock -n 9; then
	log "another kernel build is running; waiting for it"
	flock 9
fi

case ${1:-} in
prepare) prepare ;;
build) prepare && build "${2:-}" ;;
build-tree) build "${2:-}" ;;
export) export_series ;;
*) die "usage: kernel.sh prepare|build [debug|vanilla]|build-tree [debug|vanilla]|export" ;;
esac
