# barelb: `make demo` runs the lab walkthrough, `make test` runs every test.
# Tools are built from the Go module proxy by hack/tools.sh and cached under
# ~/.cache/barelb, so a clean clone reuses them.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
GO ?= go
BIN := bin
TOOLS = $(shell hack/tools.sh dir)
ENVTEST_ASSETS = $(shell hack/tools.sh envtest)
export GOFLAGS := -buildvcs=false

.PHONY: all build test unit envtest fuzz e2e lint vet fmt-check generate manifests verify-generated bench bench-alloc bench-controller bench-failover bench-bgp bench-scale bench-members demo demo-down deps tools clean

all: build

deps: ## Debian packages used by tests and the demo
	hack/install-deps.sh

tools: ## control-plane and generator binaries (cached)
	@hack/tools.sh dir

build: ## bin/controller and bin/speaker
	$(GO) build -o $(BIN)/controller ./controller
	$(GO) build -o $(BIN)/speaker ./speaker

generate: ## deepcopy code from kubebuilder markers
	$$(hack/tools.sh controller-gen) object paths=./api/...

manifests: ## CRDs and RBAC from markers
	$$(hack/tools.sh controller-gen) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$$(hack/tools.sh controller-gen) rbac:roleName=barelb-controller paths=./controller/... output:rbac:artifacts:config=config/rbac/controller
	@if [ -d speaker ]; then $$(hack/tools.sh controller-gen) rbac:roleName=barelb-speaker paths=./speaker/... output:rbac:artifacts:config=config/rbac/speaker; fi

verify-generated: generate manifests ## fails when committed generated files are stale
	@git diff --exit-code -- api config || { echo "generated files are stale: run 'make generate manifests' and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- api config)" || { git status --porcelain -- api config; echo "untracked generated files: commit them" >&2; exit 1; }

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

lint: fmt-check vet ## gofmt, go vet and staticcheck
	$$(hack/tools.sh staticcheck) ./...

unit: ## the product packages under internal/ (their namespace tests need root and skip without it outside CI)
	$(GO) test -count=1 ./internal/...

envtest: ## API types and reconcilers on a real kube-apiserver + etcd
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) $(GO) test -count=1 ./api/... ./controller/... ./speaker/app/... ./config/...

fuzz: ## a short run of every fuzz target
	hack/fuzz.sh 10s

e2e: deps build ## the end-to-end suite on the lab (root)
	KUBEBUILDER_ASSETS=$(TOOLS) BARELB_E2E=1 $(GO) test -count=1 -timeout 25m -v ./e2e/...

test: deps lint verify-generated build ## every test: lint, generated files, unit, envtest, namespaces, e2e lab, fuzz
	@start=$$(date +%s); summary=$$(mktemp); \
	KUBEBUILDER_ASSETS=$(TOOLS) BARELB_E2E=1 BARELB_E2E_SUMMARY=$$summary $(GO) test -count=1 -timeout 25m ./... ; \
	rc=$$?; cat $$summary; rm -f $$summary; \
	echo "make test: go test took $$(( $$(date +%s) - start ))s"; exit $$rc
	$(MAKE) fuzz

bench: bench-alloc bench-controller bench-bgp bench-failover ## every benchmark; prints figures

bench-alloc:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/allocator/ ./internal/addr/

bench-controller: ## N pending Services, then the controller starts: time to all assigned, peak RSS
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) $(GO) run ./hack/bench/controller -services 1000,10000

bench-scale: ## the pure packages at 10-5,000 nodes and 1,000-50,000 Services: time, CPU and allocations per full plan and per change; election targets and properties
	$(GO) run ./hack/bench/scale

bench-members: ## 50-200 memberlist instances in one process: crash detection time, gossip bandwidth, probe interval and suspicion multiplier
	$(GO) test -count=1 -run '^$$' -bench MembersSim -benchtime 1x -timeout 40m ./internal/members/

bench-failover: deps build tools ## client outage on node death, link loss and speaker crash (p50/p99/max); speaker RSS at 1,000 IPs
	$(GO) run ./hack/bench/failover

bench-bgp: deps build tools ## FRR convergence of the GoBGP speaker, then Service IP -> route in the lab router (p50/p99) and 1,000 Services
	$(GO) test -count=1 -run '^$$' -bench FRRConvergence -benchtime 1x ./internal/bgp/
	$(GO) run ./hack/bench/bgp -services 50 -bulk 1000

demo: deps tools build
	$(GO) run ./e2e/cmd/demo

demo-down:
	$(GO) run ./e2e/cmd/lab down

clean:
	rm -rf $(BIN)
