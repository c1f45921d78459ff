# blueboat-edge: build, run and test. Every target installs what it needs on a fresh machine.
DOTNET  ?= dotnet
RID     ?= linux-x64
CONFIG  ?= Release
OUT     := out
BIN     := $(OUT)/blueboat-edge
LISTEN  ?= 127.0.0.1:3000
APP     ?= examples/hello-world

.PHONY: all deps package-deps test-tools build package run test bench clean

all: build

# Toolchain: the .NET SDK comes with the machine; a C compiler, Node.js and npm (the runtime
# layer's bundler) come from Debian when missing.
deps:
	@command -v $(DOTNET) >/dev/null || { echo "the .NET SDK (dotnet) is required" >&2; exit 1; }
	@missing=""; \
	command -v cc  >/dev/null || missing="$$missing gcc libc6-dev"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v tar >/dev/null || missing="$$missing tar"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@cd src/Blueboat.Runtime && [ -d node_modules/esbuild ] || npm ci --no-audit --no-fund

# The Native AOT executable, with the V8 library beside it; published again only when a source
# changed (a publish with nothing to do still takes about a minute).
SOURCES := $(shell find blueboat-edge src native seccomp -type f -not -path '*/bin/*' -not -path '*/obj/*' -not -path '*/node_modules/*') \
           Directory.Build.props global.json VERSION

build: $(BIN)

$(BIN): $(SOURCES) | deps
	$(DOTNET) publish blueboat-edge/blueboat-edge.csproj -c $(CONFIG) -r $(RID) -o $(OUT) -p:DebugType=none -nologo -clp:ErrorsOnly
	@rm -f $(OUT)/*.pdb $(OUT)/*.dbg
	@touch $@
	@echo "built $(BIN)"

# Debian's packaging tools, rpmbuild and lintian (the package tests check with them).
package-deps:
	@missing=""; \
	command -v dpkg-deb >/dev/null || missing="$$missing dpkg"; \
	command -v rpmbuild >/dev/null || missing="$$missing rpm"; \
	command -v lintian >/dev/null || missing="$$missing lintian"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# out/packages/blueboat-edge_VERSION_amd64.deb and blueboat-edge-VERSION.x86_64.rpm (VERSION file),
# rebuilt when the binary or the packaging sources change. PKG_COMPRESSION=xz for smaller packages
# (slower to build; the default, gzip, keeps make test quick).
PKG_VERSION := $(shell cat VERSION)
PKG_COMPRESSION ?= gzip
PACKAGES    := $(OUT)/packages/blueboat-edge_$(PKG_VERSION)_amd64.deb $(OUT)/packages/blueboat-edge-$(PKG_VERSION).x86_64.rpm
PACKAGING   := $(shell find packaging -type f) VERSION README.md

package: build package-deps $(PACKAGES)

$(PACKAGES) &: $(BIN) $(PACKAGING)
	PKG_COMPRESSION=$(PKG_COMPRESSION) packaging/build-packages.sh

# Serves examples/hello-world on 127.0.0.1:3000 (override with LISTEN= and APP=).
run: build
	$(BIN) serve -l $(LISTEN) --app $(APP)

# Real peers the tests start (an S3-compatible server), pinned in tests/tools/package-lock.json.
test-tools: deps
	@cd tests/tools && [ -d node_modules/s3rver ] || npm ci --no-audit --no-fund

# Unit tests in-process, end-to-end tests against the AOT binary; prints "N passed, N failed".
test: build test-tools package
	BLUEBOAT_EDGE_BIN=$(CURDIR)/$(BIN) BLUEBOAT_EDGE_PACKAGES=$(CURDIR)/$(OUT)/packages tests/run-tests.sh

# blueboat-edge against workerd in one run (installs wrk and workerd itself); writes bench/results/latest.md.
bench: build
	bench/run.sh

clean:
	rm -rf $(OUT) tests/.artifacts
	find . -type d \( -name bin -o -name obj \) -not -path './.git/*' -prune -exec rm -rf {} +
	rm -rf src/Blueboat.Runtime/node_modules tests/tools/node_modules bench/peers/node_modules
