#!/bin/sh
# Stand-in for scripts/ssh.sh in the host tests (no VM): runs its arguments
# the way ssh does, joined into one command line for a shell, so the
# quoting of figures.py --guest is what gets tested.
exec sh -c "$*"
