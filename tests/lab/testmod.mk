# SPDX-License-Identifier: GPL-2.0
#
# The build of one of the lab's test-only kernel modules (tests/softib,
# tests/cmprobe), included by its Makefile after it set:
#   TESTMOD   the module's name (TESTMOD.ko; its Kbuild is beside the Makefile)
#   SRC       the module's source directory
# Targets: all (build/<release>/TESTMOD/TESTMOD.ko), sparse (C=2), clean.
# Nothing installs these modules: the top-level `make install` and DKMS do not
# know their directories.

KVER ?= $(shell r=$$(uname -r); \
	if [ -d /lib/modules/$$r/build ]; then echo $$r; \
	else ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n1 | \
	     cut -d/ -f4; fi)
KDIR ?= /lib/modules/$(KVER)/build
TOP := $(abspath $(SRC)/../..)
BUILD_DIR ?= $(TOP)/build/$(KVER)/$(TESTMOD)
override BUILD_DIR := $(abspath $(BUILD_DIR))
W ?= 1
SOURCES := $(SRC)/Kbuild $(wildcard $(SRC)/*.c $(SRC)/*.h)

.PHONY: all sparse clean

all: $(BUILD_DIR)/.sources
	$(MAKE) -C $(KDIR) M=$(BUILD_DIR) W=$(W) modules
	@echo "built $(BUILD_DIR)/$(TESTMOD).ko for $(KVER)"

$(BUILD_DIR)/.sources: $(SOURCES)
	@test -d $(KDIR) || { echo "no kernel headers at $(KDIR)" >&2; exit 1; }
	@mkdir -p $(BUILD_DIR)
	@cp -p $(SOURCES) $(BUILD_DIR)/
	@touch $@

sparse: $(BUILD_DIR)/.sources
	$(MAKE) -C $(KDIR) M=$(BUILD_DIR) W=$(W) C=2 modules

clean:
	rm -rf $(BUILD_DIR)
