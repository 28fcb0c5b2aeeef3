# meshwg top-level build.
#   make            module (against KDIR) and userspace
#   make check      every test: unit tests, control-server tests, VM suites
#   make demo       boots a VM and shows meshwg talking to upstream WireGuard
#   make install    module (kbuild modules_install) and binaries
#   make dkms-install   registers the source tree with DKMS and builds it

PREFIX ?= /usr
DESTDIR ?=
VERSION := 0.1.0

# The running kernel's build tree when there is one, else Debian 12's 6.1
# headers (this is also what the VM tests boot).
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(filter-out %-common %-cloud-amd64 %-rt-amd64,$(wildcard /usr/src/linux-headers-6.1.0-*-amd64)))))

.PHONY: all module userspace tools control deps check unit vm demo bench install \
	dkms-install clean

all: module userspace

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace: tools control

tools:
	$(MAKE) -C tools

control:
	$(MAKE) -C control

deps:
	tests/deps.sh

check: deps
	$(MAKE) unit
	$(MAKE) vm

unit: userspace
	$(MAKE) -C tests/unit check
	$(MAKE) -C control check

vm: tools
	tests/vm/run.sh

demo: deps tools
	tests/vm/demo.sh

bench: deps tools
	bench/run.sh

install: all
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	depmod -a || true
	$(MAKE) -C tools install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	$(MAKE) -C control install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)

dkms-install:
	rm -rf /usr/src/meshwg-$(VERSION)
	mkdir -p /usr/src/meshwg-$(VERSION)
	cp -r Kbuild Makefile dkms.conf kmod uapi /usr/src/meshwg-$(VERSION)/
	dkms add meshwg/$(VERSION)
	dkms build meshwg/$(VERSION)
	dkms install meshwg/$(VERSION)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C tools clean
	$(MAKE) -C control clean
	$(MAKE) -C tests/unit clean
