# bench.mk - benchmark targets. Included by the top-level Makefile, or run
# alone: make -f bench/bench.mk figure-read BENCH_DIR=/mnt/pmem0/bench
#
#   bench          build + the host ctest suite (a tiny run of every subcommand)
#   bench-build    build daxvm-bench and daxvm-age into $(BENCH_BUILD)
#   figure-read / figure-append / figure-overwrite / figure-db
#                  run on $(BENCH_DIR), collect, plot:
#                  $(RESULTS)/<fig>/{raw/,data.csv,plot.png,commands.txt}
#
# BENCH_ON=local (the default of this file alone) runs daxvm-bench here, on
# BENCH_DIR. BENCH_ON=guest (the default of the top-level Makefile: `make
# figure-read`) brings the VM up and provisions it (`make vm`, which ships
# daxvm-bench in /opt/daxvm), runs daxvm-bench there over scripts/ssh.sh on
# BENCH_DIR (default: the ext4 NVDIMM's mount + /bench), copies the raw JSON
# back and collects and plots here. Guest mode needs the top-level Makefile.
#
# Sizes and trials are variables so a TCG guest can use small ones, e.g.
#   make figure-read READ_SIZES=4K,1M,64M TRIALS=2

BENCH_SRC := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BENCH_BUILD ?= $(abspath $(BENCH_SRC)/../build/bench)
# Debian's python3 has matplotlib; a pyenv shim first in PATH may not.
BENCH_PY ?= $(if $(wildcard /usr/bin/python3),/usr/bin/python3,python3)
ifndef RUN_ID
RUN_ID := $(shell date -u +%Y%m%d-%H%M%S)
endif
RESULTS ?= results/$(RUN_ID)
TRIALS ?= 3
READ_SIZES ?= 4K,64K,1M,16M,256M,1G
READ_ORDERS ?= seq,rand
READ_BUDGET ?= 1G
READ_THREADS ?= 1
READ_LAYOUTS ?= fresh,frag
AGED_DIR ?=
APPEND_SIZES ?= 4K,16K,64K,256K,1M,2M
APPEND_TOTAL ?= 1G
APPEND_VARIANTS ?= write,mmap,populate,daxvm,nt,daxvm-nt
APPEND_KNOB_VARIANTS ?= write,mmap,daxvm
OVERWRITE_SIZE ?= 1G
OVERWRITE_WRITES ?= 65536
DB_RECORDS ?= 1048576
DB_OPS ?= 200000
BENCH_ON ?= local

ifeq ($(BENCH_ON),guest)
BENCH_TOP := $(abspath $(BENCH_SRC)/..)
ifndef BENCH_DIR
# DaxVM's file-system adapter is ext4's: the first ext4 NVDIMM.
BENCH_DIR := $(shell $(BENCH_PY) $(BENCH_TOP)/scripts/config.py --fields nvdimms fs mount | \
	awk '$$1 == "ext4" {print $$2; exit}')/bench
endif
# The JSON records these and the guest cannot know them; DB_THREADS is left
# to figures.py, which asks the guest for its CPU count.
BENCH_RUN_ENV = DAXVM_ACCEL=$${DAXVM_ACCEL:-$$($(BENCH_TOP)/scripts/qemu.sh accel)} \
	DAXVM_KERNEL_COMMIT=$${DAXVM_KERNEL_COMMIT:-$$(cat $(BUILD)/kernel$(VARIANT:%=-%)/commit)}
BENCH_WHERE := --guest
BENCH_NEEDS := vm
else ifeq ($(BENCH_ON),local)
DB_THREADS ?= $(shell seq -s, 1 $$(nproc))
BENCH_WHERE := --bin-dir $(BENCH_BUILD)
BENCH_NEEDS := bench-build bench-need-dir
else
$(error BENCH_ON must be guest or local, not $(BENCH_ON))
endif

BENCH_FIG = $(BENCH_RUN_ENV) $(BENCH_PY) $(BENCH_SRC)/figures.py $(BENCH_WHERE) \
	--bench-dir $(BENCH_DIR) --results $(RESULTS) --trials $(TRIALS)

.PHONY: bench bench-build figure-read figure-append figure-overwrite figure-db bench-need-dir

bench-build:
	cmake -S $(BENCH_SRC) -B $(BENCH_BUILD) >/dev/null
	cmake --build $(BENCH_BUILD) -j2

bench: bench-build
	BUILD_DIR=$(BENCH_BUILD) $(BENCH_SRC)/run-tests.sh

bench-need-dir:
	@test -n "$(BENCH_DIR)" || { echo "set BENCH_DIR=/path/on/the/dax/mount"; exit 2; }

figure-read: $(BENCH_NEEDS)
	$(BENCH_FIG) read --read-sizes $(READ_SIZES) --read-orders $(READ_ORDERS) \
		--read-budget $(READ_BUDGET) --read-threads $(READ_THREADS) --read-layouts $(READ_LAYOUTS) \
		$(if $(AGED_DIR),--aged-dir $(AGED_DIR))

figure-append: $(BENCH_NEEDS)
	$(BENCH_FIG) append --append-sizes $(APPEND_SIZES) --append-total $(APPEND_TOTAL) \
		--append-variants $(APPEND_VARIANTS) --append-knob-variants $(APPEND_KNOB_VARIANTS)

figure-overwrite: $(BENCH_NEEDS)
	$(BENCH_FIG) overwrite --overwrite-size $(OVERWRITE_SIZE) --overwrite-writes $(OVERWRITE_WRITES)

figure-db: $(BENCH_NEEDS)
	$(BENCH_FIG) db --db-records $(DB_RECORDS) --db-ops $(DB_OPS) $(if $(DB_THREADS),--db-threads $(DB_THREADS))

# An aged file-system image, cached by its parameters (see aged-image.sh);
# in the guest, AGED_DEVICE=/dev/pmemN ages (or restores) that device.
AGED_FS ?= ext4
AGED_SIZE ?= 4G
AGED_UTIL ?= 0.8
AGED_TURNOVER ?= 3
AGED_SEED ?= 1
AGED_DEVICE ?=
.PHONY: aged-image
aged-image: bench-build
	$(BENCH_SRC)/aged-image.sh --fs $(AGED_FS) --size $(AGED_SIZE) --util $(AGED_UTIL) \
		--turnover $(AGED_TURNOVER) --seed $(AGED_SEED) --age $(BENCH_BUILD)/daxvm-age \
		$(if $(AGED_DEVICE),--device $(AGED_DEVICE))
