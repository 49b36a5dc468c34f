# The two commands a user needs: `make demo` and `make test`. Each installs what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
RELEASE_BIN := .build/release

.PHONY: deps bench-deps build release test demo bench micro-bench aidl clean

# Debian packages the build and the benchmarks need (liburing for the broker; dbus-broker and
# libsystemd for the D-Bus baseline). Installed only when missing; needs root or sudo.
DEB_PACKAGES := liburing-dev pkg-config util-linux iproute2
BENCH_PACKAGES := dbus-broker libsystemd-dev

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

bench-deps: deps
	@missing=$$(for p in $(BENCH_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Unit tests (wire, broker state machine) and integration tests against real binderd processes.
test: build
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Regenerates the committed Swift for every .aidl file (BinderAIDLTests fails when one is stale):
# the project's interfaces, split in two (their parcelables, enums and codes into BinderWire, which
# the broker links; their Interface, Proxy and Stub into Binder), the round-trip test interface
# (BinderTestTypes) and the netd fixture (NetdFixtureGenerated, which exists to prove the
# generated Swift builds).
AIDL := .build/debug/binder-aidl
NETD_FIXTURE := Tests/BinderAIDLTests/Fixtures/netd
aidl:
	$(SWIFT) build --product binder-aidl
	$(AIDL) -I Protocols --module BinderWire --values-module BinderWire --out Sources/BinderWire/Generated Protocols/binder/*.aidl
	$(AIDL) -I Protocols --module Binder --values-module BinderWire --out Sources/Binder/Generated Protocols/binder/*.aidl
	$(AIDL) -I Protocols --module BinderTestTypes --out Sources/BinderTestTypes/Generated Protocols/binder/test/*.aidl
	$(AIDL) -I Protocols --module BinderNet --out Sources/BinderNet/Generated Protocols/binder/net/*.aidl
	$(AIDL) -I $(NETD_FIXTURE) --module NetdFixtureGenerated --out Tests/NetdFixtureGenerated $$(find $(NETD_FIXTURE) -name '*.aidl' | LC_ALL=C sort)

# Starts a broker in a temporary runtime directory, registers the echo service, lists, calls and
# measures it, shows `binder status`, then shuts everything down.
demo: release
	@bash scripts/demo.sh $(RELEASE_BIN)

# Side-by-side latency: raw SEQPACKET ping-pong, a C relay, dbus-broker and binderd, same run.
bench: release bench-deps
	@BIN_DIR=$(CURDIR)/$(RELEASE_BIN) bash Benchmarks/run-side-by-side.sh

# Parcel and frame encode/decode micro-benchmarks (ordo-one/benchmark, its own package).
micro-bench:
	cd Benchmarks && $(SWIFT) package --disable-sandbox benchmark --target ParcelCoding

clean:
	rm -rf .build Benchmarks/.build Benchmarks/.build-c
