# meshwg top-level build.
#   make            module (against KDIR) and userspace
#   make check      every test: unit tests, control-server tests, VM suites
#                   (6.1 and 6.12 in full, the debug kernel on DEBUG_SUITES)
#   make vm-debug   every VM suite on the debug kernel (slow: by hand)
#   make fuzz       the userspace fuzzers (tests/fuzz), 10 minutes each, and
#                   the VM netlink/UDP fuzzer for 10 minutes on 6.1 and debug
#   make demo       boots a VM and shows meshwg talking to upstream WireGuard
#   make install    module (kbuild modules_install), binaries, meshwgd.service, modules-load.d
#   make dkms-install   registers the source tree with DKMS and builds it

PREFIX ?= /usr
DESTDIR ?=
VERSION := 0.1.0

# The running kernel's build tree when there is one, else Debian 12's 6.1
# headers (this is also what the VM tests boot).
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(filter-out %-common %-cloud-amd64 %-rt-amd64,$(wildcard /usr/src/linux-headers-6.1.0-*-amd64)))))

.PHONY: all module userspace lib tools control agent deps check unit fuzz vm vm-debug demo bench install \
	dkms-install clean

all: module userspace

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace: lib tools control agent

lib:
	$(MAKE) -C lib

tools: lib
	$(MAKE) -C tools

# meshwg-control links lib/libmeshwg.a (keys, hex, prefixes).
control: lib
	$(MAKE) -C control

# meshwgd links lib/libmeshwg.a and control/client/libmwgc.a.
agent: lib control
	$(MAKE) -C agent

deps:
	tests/deps.sh

# The VM tests' debug kernel (KASAN, kmemleak, lockdep) takes a while to
# build the first time: it starts in the background, at low priority, while
# the unit tests run; the VM step waits for it (tests/vm/debug-kernel.sh
# holds a lock) and builds it itself if this did not.
check: deps
	nice -n 10 tests/vm/debug-kernel.sh >/dev/null 2>&1 &
	$(MAKE) unit
	$(MAKE) vm

unit: userspace
	$(MAKE) -C tests/unit check
	$(MAKE) -C tests/fuzz check
	$(MAKE) -C control check
	tests/install.sh
	tests/style.sh

fuzz: userspace
	$(MAKE) -C tests/fuzz fuzz
	FUZZ_SECONDS=600 FUZZ_SEED=$$(date +%s) tests/vm/run.sh --kernel 6.1 --kernel debug fuzz

# Every suite on Debian's 6.1 and 6.12 kernels; the debug kernel, under
# which TCG runs the suites 10-50 times slower, runs those in DEBUG_SUITES
# (vm-debug runs them all on it, by hand).  The three VMs boot side by side.
DEBUG_SUITES ?= smoke,events,fuzz
vm: userspace
	$(MAKE) -C tests/unit/agent kern_try
	tests/vm/run.sh --kernel 6.1 --kernel 6.12 --kernel debug:$(DEBUG_SUITES)

vm-debug: userspace
	tests/vm/run.sh --kernel debug

demo: deps userspace
	tests/vm/demo.sh

bench: deps userspace
	bench/run.sh

# The release of the kernel KDIR belongs to: Debian's header trees are named
# after it (their kernel.release file says only the upstream version).
KDIR_NAME = $(notdir $(realpath $(KDIR)))
KVER ?= $(if $(filter linux-headers-%,$(KDIR_NAME)),$(KDIR_NAME:linux-headers-%=%),$(shell cat $(KDIR)/include/config/kernel.release))

install: all
	$(MAKE) -C $(KDIR) M=$(CURDIR) KERNELRELEASE=$(KVER) INSTALL_MOD_PATH=$(DESTDIR) modules_install
	depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KVER)
	$(MAKE) -C tools install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	$(MAKE) -C control install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	$(MAKE) -C agent install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)

# DKMS_FLAGS passes e.g. `-k 6.1.0-56-amd64` or alternative trees (tests/install.sh).
DKMS_SRC ?= /usr/src
dkms-install:
	rm -rf $(DKMS_SRC)/meshwg-$(VERSION)
	mkdir -p $(DKMS_SRC)/meshwg-$(VERSION)
	cp -r Kbuild Makefile dkms.conf kmod uapi $(DKMS_SRC)/meshwg-$(VERSION)/
	dkms add meshwg/$(VERSION) $(DKMS_FLAGS)
	dkms build meshwg/$(VERSION) $(DKMS_FLAGS)
	dkms install meshwg/$(VERSION) $(DKMS_FLAGS)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C lib clean
	$(MAKE) -C tools clean
	$(MAKE) -C control clean
	$(MAKE) -C agent clean
	$(MAKE) -C tests/unit clean
