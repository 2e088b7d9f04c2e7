# StarRocks shared-data backup and restore tasks.
#   make build   static binaries into bin/
#   make unit    the fast loop: unit tests only, no server, no venv
#   make e2e     every test, the end-to-end ones against real MinIO, sshd
#                and Airflow included (build tag e2e)
#   make test    everything CI runs: lint, format, tidy and shell checks, then e2e
#   make demo    two backups, the backup sets, and a restore of the older one,
#                through Airflow on a local test bed
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

# Airflow for the DAG tests and the demo: pinned versions in virtualenvs
# under .cache, every package pinned by the constraints files (made with
# pip freeze from a working install; no constraints server is needed).
#   venv-airflow3   the newest Airflow 3, with the providers the DAGs use and
#                   ruff: the scheduler test, `airflow dags test`, the demo
#   venv-airflow3-oldest  the oldest Airflow 3 supported, and venv-airflow2
#                   the last Airflow 2: only the DagBag load check (no extra providers)
# The three install in about two minutes on two cores (with or without a
# pip cache: `time make airflow-venvs`).
PYTHON   ?= python3
AIRFLOW3  := $(CACHE)/venv-airflow3
AIRFLOW3_OLDEST := $(CACHE)/venv-airflow3-oldest
AIRFLOW2  := $(CACHE)/venv-airflow2
AIRFLOW3_VERSION  := 3.3.2
AIRFLOW3_OLDEST_VERSION := 3.1.8
AIRFLOW2_VERSION  := 2.11.2
PIP_INSTALL = bin/pip install -q --disable-pip-version-check

.PHONY: airflow-venvs
airflow-venvs: $(AIRFLOW3)/.installed $(AIRFLOW3_OLDEST)/.installed $(AIRFLOW2)/.installed

$(AIRFLOW3)/.installed: pkg/testbed/airflow/constraints-airflow3.txt
	rm -rf $(AIRFLOW3) && $(PYTHON) -m venv $(AIRFLOW3)
	$(AIRFLOW3)/$(PIP_INSTALL) -c $< apache-airflow==$(AIRFLOW3_VERSION) \
	  apache-airflow-providers-standard apache-airflow-providers-cncf-kubernetes ruff
	touch $@

$(AIRFLOW3_OLDEST)/.installed: pkg/testbed/airflow/constraints-airflow3-oldest.txt
	rm -rf $(AIRFLOW3_OLDEST) && $(PYTHON) -m venv $(AIRFLOW3_OLDEST)
	$(AIRFLOW3_OLDEST)/$(PIP_INSTALL) -c $< apache-airflow==$(AIRFLOW3_OLDEST_VERSION)
	touch $@

# No cncf.kubernetes provider here: the Kubernetes DAG must then define
# nothing and load cleanly.
$(AIRFLOW2)/.installed: pkg/testbed/airflow/constraints-airflow2.txt
	rm -rf $(AIRFLOW2) && $(PYTHON) -m venv $(AIRFLOW2)
	$(AIRFLOW2)/$(PIP_INSTALL) -c $< apache-airflow==$(AIRFLOW2_VERSION)
	touch $@

.PHONY: dags-lint
dags-lint: $(AIRFLOW3)/.installed
	$(AIRFLOW3)/bin/ruff check --select AIR3 dags/
	$(AIRFLOW3)/bin/ruff check dags/
	$(AIRFLOW3)/bin/ruff format --check dags/

# Two backups with a change of the cluster between them, catalog list, and a
# restore of the older set, checked byte-identical, through Airflow on a local
# test bed (about a minute).
.PHONY: demo
demo: build $(TOOLS)/minio $(AIRFLOW3)/.installed
	$(GO) run ./pkg/testbed/demo --bin $(CURDIR)/bin --out $(CURDIR)/demo-output

.PHONY: lint
lint: $(TOOLS)/staticcheck
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...
	$(TOOLS)/staticcheck ./...
	$(TOOLS)/staticcheck -tags e2e ./...

# Shell that runs on FE hosts (pkg/**/*.sh, embedded in the binaries), the
# benchmark scripts and CI's entry point.
SHELL_FILES = $(shell git ls-files '*.sh' .ci/run 2>/dev/null)
.PHONY: shellcheck
shellcheck:
	shellcheck $(SHELL_FILES)

.PHONY: fmt-check
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

.PHONY: tidy-check
tidy-check:
	$(GO) mod tidy -diff

.PHONY: unit
unit:
	$(GO) test -count=1 -timeout 5m ./...

.PHONY: e2e
e2e: tools airflow-venvs
	CGO_ENABLED=1 $(GO) test -race -tags e2e -count=1 -timeout 30m ./...

.PHONY: test
test: fmt-check tidy-check lint shellcheck dags-lint e2e

# The Airflow image (needs a Docker engine and the registry).
IMAGE ?= starrocks-backup-airflow:$(VERSION)
.PHONY: image
image:
	docker build -f Dockerfile.airflow --build-arg VERSION=$(VERSION) -t $(IMAGE) .

.PHONY: clean
clean:
	rm -rf bin/
