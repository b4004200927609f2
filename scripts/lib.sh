# Shared helpers for the host scripts. Source it; do not run it.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}

# Debian's interpreter: its packages (yaml, matplotlib) come from make deps.
PY=/usr/bin/python3

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Appends one test result record to FILE: the one writer, scripts/result.py
# (valid JSON whatever the text). Fields: KEY=TEXT, KEY:=INTEGER, KEY@=PATH.
result_add() { # FILE NAME STATUS [FIELD]...
	"$PY" "$TOP/scripts/result.py" add "$@"
}

# Value of KEY from the testbed configuration (ansible/group_vars/all.yml,
# overridden by ansible/local.yml): one source for make, scripts and roles.
cfg() { "$PY" "$TOP/scripts/config.py" "$@"; }

# Fail early with a clear message when the disk cannot hold a step.
need_space() { # need_space DIR MIB WHAT
	local avail
	mkdir -p "$1"
	avail=$(df -Pm "$1" | awk 'NR==2 {print $4}')
	[ "$avail" -ge "$2" ] ||
		die "not enough disk space for $3: ${avail} MiB free in $1, need ${2} MiB"
}
