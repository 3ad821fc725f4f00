# SPDX-License-Identifier: GPL-2.0
#
# ib_ipoib out-of-tree build.
#
#   make                      build against the running kernel (or, when its
#                             headers are missing, the newest installed ones)
#   make KVER=<release>       build against /lib/modules/<release>/build
#   make control              test-only shared-workqueue build (build/<release>-control,
#                             or BUILD_DIR-control)
#   make install              install under /lib/modules/<release>/updates
#   make dkms-install         (root) DKMS: /usr/src/ib_ipoib-<version>, dkms add, build,
#                             install; KVER="<release>..." (default: the installed
#                             6.1.* and 6.12.* kernels); make dkms-remove undoes it
#                             (scripts/dkms.sh)
#   make sparse | style       static checks (sparse C=2, checkpatch)
#   make demo | check         the soft-RoCE VM lab (see README.md)
#   make bench                the lab's benchmark: IP over ib0 against raw verbs, and
#                             what child interfaces cost (tests/bench/bench.sh)
#   make check-debug          the lab scenarios and the KUnit suite on a debug kernel
#                             (lockdep, KASAN, kmemleak; built once, cached in
#                             build/debug-kernel)
#   make selftests            the kselftest suite (tests/selftests) whole, in one lab
#                             guest per kernel (tests/selftests/lab.sh)

KVER ?= $(shell r=$$(uname -r); \
	if [ -d /lib/modules/$$r/build ]; then echo $$r; \
	else ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n1 | \
	     cut -d/ -f4; fi)
KDIR ?= /lib/modules/$(KVER)/build
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD_DIR ?= $(TOP)/build/$(KVER)
override BUILD_DIR := $(abspath $(BUILD_DIR))
W ?= 1
IPOIB_VERSION ?= $(shell cd $(TOP) && v=$$(sed -n \
	's/^\#define DRV_VERSION[[:space:]]*"\(.*\)"/\1/p' ipoib.h); \
	g=$$(git describe --always --dirty 2>/dev/null); \
	echo "$$v$${g:++g$$g}")

SOURCES := Kbuild $(wildcard $(TOP)/*.c $(TOP)/*.h) \
	   $(shell find $(TOP)/compat -name '*.h' 2>/dev/null)
KBUILD_ARGS := -C $(KDIR) M=$(BUILD_DIR) W=$(W) IPOIB_VERSION=$(IPOIB_VERSION) \
	       $(if $(IPOIB_SHARED_WQ),IPOIB_SHARED_WQ=$(IPOIB_SHARED_WQ))

.PHONY: all module control install dkms-install dkms-remove sparse style check \
	check-debug selftests demo bench clean

all: module

# Each kernel release gets its own build directory, so that builds for
# several releases never overwrite each other's objects.
$(BUILD_DIR)/.sources: $(SOURCES)
	@test -d $(KDIR) || { echo "no kernel headers at $(KDIR):" \
		"apt-get install linux-headers-$(KVER)" >&2; exit 1; }
	@mkdir -p $(BUILD_DIR)
	@cd $(TOP) && cp -p --parents Kbuild *.c *.h \
		$$(find compat -name '*.h') $(BUILD_DIR)/
	@touch $@

module: $(BUILD_DIR)/.sources
	$(MAKE) $(KBUILD_ARGS) modules
	@echo "built $(BUILD_DIR)/ib_ipoib.ko for $(KVER)"

# Test-only control build: every interface's work on one shared workqueue
# (the design this driver replaced).  Used by the deadlock regression
# scenario, which must fail with it, and by the benchmark.
control:
	$(MAKE) -f $(TOP)/Makefile KVER=$(KVER) IPOIB_SHARED_WQ=1 \
		BUILD_DIR=$(BUILD_DIR)-control \
		IPOIB_VERSION=$(IPOIB_VERSION)-sharedwq-control module

install: module
	$(MAKE) $(KBUILD_ARGS) INSTALL_MOD_DIR=updates \
		$(if $(INSTALL_MOD_PATH),INSTALL_MOD_PATH=$(INSTALL_MOD_PATH)) \
		modules_install
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)

# DKMS: scripts/dkms.sh does the work (see there), for the kernel releases in KVER when
# it is given (one or more), else for every installed 6.1.* and 6.12.* kernel.
DKMS_KVER = $(if $(filter command line environment,$(origin KVER)),$(KVER))

dkms-install:
	@$(TOP)/scripts/dkms.sh install $(DKMS_KVER)

dkms-remove:
	@$(TOP)/scripts/dkms.sh remove

sparse: $(BUILD_DIR)/.sources
	$(MAKE) $(KBUILD_ARGS) C=2 CF="-D__CHECK_ENDIAN__" modules 2>&1 | \
		tee $(BUILD_DIR)/sparse.log
	@! grep -E "(warning|error):" $(BUILD_DIR)/sparse.log

style:
	@$(TOP)/tests/tools/checkpatch.sh $(TOP)

check:
	@$(TOP)/tests/check.sh

check-debug:
	@$(TOP)/tests/check-debug.sh

selftests:
	@$(TOP)/tests/selftests/lab.sh

demo:
	@$(TOP)/tests/demo/demo.sh

clean:
	rm -rf $(TOP)/build

bench:
	@$(TOP)/tests/bench/bench.sh
