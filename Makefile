# bedrockwatch — one entry point for building, trying and testing.
#   make demo    start an embedded Kafka broker and the service, produce testdata/demo, print the alerts
#   make demo-replay  the same files through `bedrockwatch replay`
#   make test    everything CI runs: formatting, vet, unit tests, rule tests, a short fuzz
#   make bench   Go benchmarks of the hot path
#   make fuzz    longer fuzzing of the decoders and the EQL parser (FUZZTIME=60s each)
#   make helm-lint  `helm lint --strict` of deploy/helm/bedrockwatch with the pinned helm CLI

GO       ?= go
BIN      := bin/bedrockwatch
FUZZTIME ?= 60s
SMOKE    ?= 5s
# package:FuzzTarget pairs
FUZZ_TARGETS := ./schemas:FuzzDecode ./processor/eql:FuzzParse ./processor/redact:FuzzMask

.PHONY: all build demo demo-replay test lint vet unit ruletest fuzz fuzz-smoke bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bedrockwatch

demo: build
	@echo "== bedrockwatch dev --demo testdata/demo: embedded Kafka broker + the service; the demo files go in, the alerts come back =="
	@./$(BIN) dev --kafka-addr 127.0.0.1:0 --demo testdata/demo --log-level warn

demo-replay: build
	@echo "== bedrockwatch replay testdata/demo/* (alerts as CloudEvents on stdout, summary on stderr) =="
	@./$(BIN) replay --progress=false testdata/demo/*

test: lint unit ruletest fuzz-smoke
	@echo "make test: all checks passed"

lint: vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

ruletest: build
	./$(BIN) rules test

fuzz-smoke:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($$pkg) for $(SMOKE)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(SMOKE) $$pkg || exit 1; done

fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# make bench-e2e: `bedrockwatch bench` on generated traffic, embedded broker: the consume
# ceiling, the service end to end, latency at half load, CPU, memory and alerts (bench/)
.PHONY: bench-e2e
bench-e2e:
	$(GO) run ./cmd/bedrockwatch bench --duration 60s

clean:
	rm -rf bin

# helm lint with the helm CLI built from the Go module proxy at a pinned version. Not part of
# `make test`: the first run builds helm (about 4 minutes on a fresh module cache); the same lint
# runs in `make unit` through Helm's Go packages (TestChartLint in deploy/helm).
HELM_VERSION ?= v3.22.0
.PHONY: helm-lint
helm-lint:
	$(GO) run helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) lint --strict deploy/helm/bedrockwatch
	$(GO) run helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) lint --strict deploy/helm/bedrockwatch -f deploy/helm/testdata/all-on.yaml
