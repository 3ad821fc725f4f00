# SPDX-License-Identifier: GPL-2.0
#
# ib_ipoib out-of-tree build.
#
#   make                      build against the running kernel (or, when its
#                             headers are missing, the newest installed ones)
#   make KVER=<release>       build against /lib/modules/<release>/build
#   make control              test-only shared-workqueue build (build/<release>-control)
#   make install              install under /lib/modules/<release>/updates
#   make dkms-install         (root) DKMS: /usr/src/ib_ipoib-<version>, dkms add, build,
#                             install; KVER="<release>..." (default: the installed
#                             6.1.* and 6.12.* kernels); make dkms-remove undoes it
#   make sparse | style       static checks (sparse C=2, checkpatch)
#   make demo | check         the soft-RoCE VM lab (see README.md)
#   make check-debug          the lab scenarios and the KUnit suite on a debug kernel
#                             (lockdep, KASAN, kmemleak; built once, cached in
#                             build/debug-kernel)

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

.PHONY: all module control install sparse style check check-debug demo clean

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
		BUILD_DIR=$(TOP)/build/$(KVER)-control \
		IPOIB_VERSION=$(IPOIB_VERSION)-sharedwq-control module

install: module
	$(MAKE) $(KBUILD_ARGS) INSTALL_MOD_DIR=updates \
		$(if $(INSTALL_MOD_PATH),INSTALL_MOD_PATH=$(INSTALL_MOD_PATH)) \
		modules_install
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)

# DKMS.  dkms-install copies what the build needs (Kbuild, *.c, *.h, compat/, dkms.conf:
# kbuild needs no Makefile) to /usr/src/ib_ipoib-<version>/ and stamps the git commit
# into that dkms.conf's module version; then dkms add, build and install for each kernel
# release: those in KVER if given (one or more), else every 6.1.* and 6.12.* kernel
# (BUILD_EXCLUSIVE_KERNEL) that has headers, else the running one.  Re-running replaces
# the version cleanly (dkms remove --all first) and rebuilds it from the new sources for
# the kernels it was installed for before, too.
DKMS_VERSION = $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' $(TOP)/dkms.conf)
DKMS_KVER = $(if $(filter command line environment,$(origin KVER)),$(KVER))
DKMS_CHECK = [ "$$(id -u)" = 0 ] || { echo "$@: run as root" >&2; exit 1; }; \
	command -v dkms >/dev/null || { echo "$@: no dkms (apt-get install dkms)" >&2; exit 1; }; \
	ver='$(DKMS_VERSION)'; src=/usr/src/ib_ipoib-$$ver; \
	drv=$$(sed -n 's/^\#define DRV_VERSION[[:space:]]*"\(.*\)"/\1/p' $(TOP)/ipoib.h); \
	[ -n "$$ver" ] && [ "$$ver" = "$$drv" ] || { echo "$@: PACKAGE_VERSION '$$ver'" \
		"in dkms.conf differs from DRV_VERSION '$$drv' in ipoib.h" >&2; exit 1; }

.PHONY: dkms-install dkms-remove
dkms-install:
	@set -e; $(DKMS_CHECK); \
	re=$$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"/\1/p' $(TOP)/dkms.conf); \
	new='$(DKMS_KVER)'; \
	if [ -z "$$new" ]; then \
		for d in /lib/modules/*/build; do \
			r=$${d%/build}; r=$${r##*/}; \
			if [ -d "$$d" ] && echo "$$r" | grep -Eq "$$re"; then new="$$new $$r"; fi; \
		done; \
		[ -n "$$new" ] || new=$$(uname -r); \
	fi; \
	for k in $$new; do \
		echo "$$k" | grep -Eq "$$re" || { echo "$@: $$k is not a tested kernel" \
			"series (BUILD_EXCLUSIVE_KERNEL=\"$$re\" in dkms.conf)" >&2; exit 1; }; \
		[ -d /lib/modules/$$k/build ] || { echo "$@: no kernel headers at" \
			"/lib/modules/$$k/build: apt-get install linux-headers-$$k" >&2; exit 1; }; \
	done; \
	old=$$(dkms status -m ib_ipoib -v "$$ver" | \
		sed -n 's/^[^,]*, \([^,]*\), [^:]*: installed.*/\1/p'); \
	kernels=; \
	for k in $$new $$old; do \
		case " $$kernels " in *" $$k "*) continue ;; esac; \
		[ -d /lib/modules/$$k/build ] || continue; \
		for f in /lib/modules/$$k/updates/ib_ipoib.ko*; do \
			[ -e "$$f" ] || continue; \
			echo "$@: $$f (make install) would compete with the DKMS module:" \
				"rm $$f; depmod $$k" >&2; exit 1; \
		done; \
		kernels="$$kernels $$k"; \
	done; \
	if [ -n "$$(dkms status -m ib_ipoib -v "$$ver")" ]; then \
		dkms remove "ib_ipoib/$$ver" --all; \
	fi; \
	rm -rf "$$src"; mkdir -p "$$src"; \
	cd $(TOP); \
	cp -p --parents Kbuild *.c *.h $$(find compat -name '*.h') dkms.conf "$$src"/; \
	g=$$(git describe --always --dirty 2>/dev/null || true); \
	if [ -n "$$g" ]; then \
		sed -i "s/^\(IPOIB_DKMS_VERSION=\".*\)\"\$$/\1.g$$g\"/" "$$src/dkms.conf"; \
		grep -q "^IPOIB_DKMS_VERSION=.*\.g$$g\"" "$$src/dkms.conf"; \
	fi; \
	dkms add "ib_ipoib/$$ver"; \
	for k in $$kernels; do \
		dkms build "ib_ipoib/$$ver" -k "$$k"; \
		dkms install "ib_ipoib/$$ver" -k "$$k"; \
	done; \
	dkms status -m ib_ipoib

dkms-remove:
	@set -e; $(DKMS_CHECK); \
	if [ -n "$$(dkms status -m ib_ipoib -v "$$ver")" ]; then \
		dkms remove "ib_ipoib/$$ver" --all; \
	else \
		echo "$@: ib_ipoib/$$ver is not in dkms"; \
	fi; \
	rm -rf "$$src"; \
	dkms status -m ib_ipoib

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

demo:
	@$(TOP)/tests/demo/demo.sh

clean:
	rm -rf $(TOP)/build

bench:
	@$(TOP)/tests/bench/bench.sh
