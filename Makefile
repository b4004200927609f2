# DaxVM testbed: one entry point. `make help` lists the targets.
# Variables: DEBUG=1 (debug kernel lane), PROVIDER=libvirt|qemu, CMD='...'
# (for boot), V=1 (verbose).
SHELL := /bin/bash
TOP := $(CURDIR)
BUILD := $(TOP)/build
export BUILD

ifeq ($(V),1)
Q :=
ANSIBLE_V := -v
else
Q := @
ANSIBLE_V :=
endif

ifeq ($(DEBUG),1)
VARIANT := debug
QEMU_FLAGS := --debug
else
VARIANT :=
QEMU_FLAGS :=
endif

PROVIDER ?= $(shell /usr/bin/python3 scripts/config.py vm_provider 2>/dev/null || echo libvirt)
PLAYBOOK := ANSIBLE_CONFIG=$(TOP)/ansible/ansible.cfg ansible-playbook $(ANSIBLE_V) \
	-i $(TOP)/ansible/inventories/emulated -e vm_provider=$(PROVIDER) \
	-e kernel_variant=$(VARIANT)

.PHONY: help deps kernel kernel-export initramfs image guest-bin vm vm-stop ssh \
	boot test test-host test-guest test-crash test-vanilla series-check lint clean figure-read-boot

help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## deps           install the Debian packages the host needs (root)
deps:
	$(Q)scripts/deps.sh

## kernel         fetch linux-source-6.1, apply kernel-patches/, build (DEBUG=1: debug variant)
kernel: deps
	$(Q)scripts/kernel.sh build $(VARIANT)

## kernel-export  write the commits of build/linux back to kernel-patches/
kernel-export:
	$(Q)scripts/kernel.sh export

## initramfs      the quick-loop initramfs (busybox, ndctl, mkfs)
initramfs: $(BUILD)/initramfs.cpio.gz
$(BUILD)/initramfs.cpio.gz: guest-image/build-initramfs.sh guest-image/quick-init.sh
	$(Q)guest-image/build-initramfs.sh $@

## image          the Debian 12 guest disk image (rebuilt when its inputs change)
image: deps
	$(Q)guest-image/build-image.sh >/dev/null

## guest-bin      userlib, tests and benchmarks built for the guest (build/guest-bin)
guest-bin: kernel
	$(Q)scripts/guest-bin.sh $(VARIANT)

## boot           quick loop: boot the built kernel, run CMD='...' in an initramfs, power off
boot: kernel initramfs guest-bin
	$(Q)scripts/qemu.sh $(QEMU_FLAGS) boot '$(or $(CMD),uname -a)'

## vm             build everything, start the VM and provision it with Ansible
vm: kernel image guest-bin
	$(Q)$(PLAYBOOK) -e testbed_built=true ansible/site.yml
	@echo "VM is up: 'make ssh' logs in, 'make test' runs the suites, 'make vm-stop' stops it."

## vm-stop        shut the VM down (its NVDIMM files are kept)
vm-stop:
	$(Q)$(PLAYBOOK) ansible/vm-stop.yml

## ssh            log into the VM
ssh:
	$(Q)scripts/ssh.sh

## test           host unit tests, then the in-guest suite (starts the VM if needed)
# Both halves always run; the summary line decides the exit status (a half
# that produced no results counts as failed).
# The normal lane also builds and boots the series with CONFIG_DAXVM=n.
TEST_VANILLA := $(if $(VARIANT),,$(BUILD)/results/vanilla.json)
test: deps
	$(Q)rm -f $(BUILD)/results/guest$(VARIANT:%=-%).json $(BUILD)/results/crash$(VARIANT:%=-%).json \
		$(TEST_VANILLA)
	$(Q)scripts/test-host.sh || true
	$(Q)$(MAKE) --no-print-directory test-guest || true
	$(Q)$(MAKE) --no-print-directory test-crash || true
	$(Q)$(if $(TEST_VANILLA),$(MAKE) --no-print-directory test-vanilla || true,:)
	$(Q)scripts/summary.sh $(BUILD)/results/host.json $(BUILD)/results/guest$(VARIANT:%=-%).json \
		$(BUILD)/results/crash$(VARIANT:%=-%).json $(TEST_VANILLA)

test-host: deps
	$(Q)scripts/test-host.sh

test-guest: kernel image guest-bin
	$(Q)rm -f $(BUILD)/results/guest$(VARIANT:%=-%).json
	$(Q)$(PLAYBOOK) -e testbed_built=true ansible/test.yml

## test-crash     msync'd MAP_DAXVM data survives QEMU kills at random points
##                (quick-loop boots; CRASH_POINTS, default 10)
CRASH_POINTS ?= 10
test-crash: kernel initramfs guest-bin
	$(Q)rm -f $(BUILD)/results/crash$(VARIANT:%=-%).json
	$(Q)tests/host/msync-crash.py $(QEMU_FLAGS) --points $(CRASH_POINTS) \
		--out $(BUILD)/results/crash$(VARIANT:%=-%).json

## test-vanilla   the series with CONFIG_DAXVM=n builds without warnings and
##                shows no DaxVM interface (build/kernel-vanilla, one quick boot)
test-vanilla: kernel initramfs guest-bin
	$(Q)tests/host/vanilla-kernel.sh

## series-check   every prefix of kernel-patches/ builds (normal, vanilla, debug)
##                and boots with its smoke tests: build/results/series-check.json
##                (hours on 2 cores; SERIES_FROM=N, SERIES_VARIANTS, SERIES_TESTS)
series-check: kernel initramfs guest-bin
	$(Q)scripts/series-check.sh

## lint           shellcheck-free checks we can run here: ansible-lint, checkpatch
lint:
	$(Q)cd ansible && ansible-lint -q
	$(Q)scripts/checkpatch.sh

## figure-read    one paper figure, run in the VM: results/<run-id>/read/ (also
##                figure-append, figure-overwrite, figure-db; BENCH_ON=local: here)
# bench, bench-build, figure-read|append|overwrite|db, aged-image
BENCH_ON ?= guest
include bench/bench.mk

## figure-read-boot the read figure in one quick-loop boot, no VM:
##                results/<run-id>/read-boot/ with targets.md; ICOUNT=0 times
##                guest instructions (TCG), see bench/README.md
figure-read-boot: kernel initramfs guest-bin
	$(Q)bench/boot-read.sh $(RESULTS)/read-boot --trials $(TRIALS) --sizes $(READ_SIZES) \
		--orders $(READ_ORDERS) --layouts $(READ_LAYOUTS) --budget $(READ_BUDGET) \
		--variants read,mmap,populate,daxvm

## clean          remove build/ outputs except the downloads and NVDIMM files
clean:
	$(Q)-scripts/qemu.sh stop
	$(Q)rm -rf $(BUILD)/kernel $(BUILD)/kernel-debug $(BUILD)/image $(BUILD)/guest-bin \
		$(BUILD)/userlib $(BUILD)/initramfs.cpio.gz $(BUILD)/results
