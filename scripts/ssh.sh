#!/usr/bin/env bash
# ssh into the VM (root, per-checkout key, forwarded loopback port).
#   ssh.sh [COMMAND...]
source "$(dirname "$0")/lib.sh"
KEY=$BUILD/ssh/id_ed25519
[ -f "$KEY" ] || die "no ssh key yet: run 'make vm'"
exec ssh -i "$KEY" -p "$(cfg vm_ssh_port)" -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 \
	-o BatchMode=yes root@127.0.0.1 "$@"
