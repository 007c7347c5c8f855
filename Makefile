# bedrockwatch — one entry point for building, trying and testing.
#   make demo    start an embedded Kafka broker and the service, produce testdata/demo, print the alerts
#   make demo-replay  the same files through `bedrockwatch replay`
#   make test    everything CI runs: formatting, vet, unit tests, rule tests, a short fuzz
#   make tools   check the tools the tests use besides Go (kcat: TestKcatDev skips without it)
#   make bench   Go benchmarks of the hot path
#   make chaos   the crash and rebalance drills at a larger scale; one line: alerts expected/got/duplicates/lost
#   make fuzz    longer fuzzing of the decoders and the EQL parser (FUZZTIME=60s each)
#   make helm-lint  `helm lint --strict` of deploy/helm/bedrockwatch with the pinned helm CLI (in make test)

GO       ?= go
BIN      := bin/bedrockwatch
FUZZTIME ?= 60s
# fuzz-smoke runs each target for a number of inputs, not a duration: a duration ends in a
# deadline, and on a loaded 2-core machine Go's fuzzer can report that deadline as a failure
# ("context deadline exceeded") while a worker is still busy.
SMOKE    ?= 50000x
# package:FuzzTarget pairs
FUZZ_TARGETS := ./schemas:FuzzDecode ./schemas:FuzzIndex ./schemas:FuzzInvocationFastPath ./schemas:FuzzInvocationDocument ./schemas:FuzzParseUTCStamp ./processor/eql:FuzzParse ./processor/eql:FuzzRegexStarts ./processor/eql:FuzzContainsSetUnfolded ./processor/redact:FuzzMask ./processor:FuzzDecodeSnap

.PHONY: all build demo demo-replay test lint vet unit ruletest fuzz fuzz-smoke bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bedrockwatch

demo: build
	@echo "== bedrockwatch dev --demo testdata/demo: embedded Kafka broker + the service; the demo files go in, the alerts come back =="
	@./$(BIN) dev --kafka-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 --demo testdata/demo --log-level warn

demo-replay: build
	@echo "== bedrockwatch replay testdata/demo/* (alerts as CloudEvents on stdout, summary on stderr) =="
	@./$(BIN) replay --progress=false testdata/demo/*

test: tools lint unit ruletest fuzz-smoke helm-lint
	@echo "make test: all checks passed"

# kcat (Debian package kcat; .ci/run installs it) drives `bedrockwatch dev` in TestKcatDev,
# which skips without it, unless CI=true: then it fails, and so does this check.
.PHONY: tools
tools:
	@if command -v kcat >/dev/null 2>&1; then echo "tools: kcat $$(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\).*/\1/p')"; \
	elif [ "$$CI" = true ]; then echo "tools: kcat is missing and CI=true: TestKcatDev would fail; apt-get install kcat" >&2; exit 1; \
	else echo "tools: kcat is missing, so TestKcatDev (bedrockwatch dev driven by kcat) skips; apt-get install kcat to run it" >&2; fi

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
		echo "fuzz $$fn ($$pkg) -fuzztime $(SMOKE)"; \
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

# make chaos: the crash drill (TestCrashNoLossNoDuplicates: one replica SIGKILLed at random points
# and restarted) and the rebalance drill (TestRebalanceDrill: three replicas joining, stopped with
# SIGTERM, SIGKILLed and restarted while events flow), at the larger scale BEDROCKWATCH_CHAOS=1
# selects. Not part of `make test`. The test output goes to stderr; stdout gets one line, the
# alerts of both drills summed: "alerts expected N, got N, duplicates 0, lost 0" (expected: what
# replay raises for the same inputs; got: every alert read back with read_committed, duplicates
# included). Each drill appends its counts to $(CHAOS_REPORT); the target fails when a drill
# fails, did not report, or lost, duplicated or added an alert.
CHAOS_REPORT ?= bin/chaos-report.txt
.PHONY: chaos
chaos:
	@mkdir -p $(dir $(CHAOS_REPORT)) && : > $(CHAOS_REPORT)
	@BEDROCKWATCH_CHAOS=1 BEDROCKWATCH_CHAOS_REPORT=$(abspath $(CHAOS_REPORT)) \
		$(GO) test -run 'TestCrash|TestRebalance' -count=1 -timeout 30m -v ./service/ >&2; rc=$$?; \
	awk '{ d[$$1] = 1; e += $$2; g += $$3; u += $$4; l += $$5; x += $$6 } \
		END { printf "alerts expected %d, got %d, duplicates %d, lost %d\n", e, g, u, l; \
		if (!("crash" in d) || !("rebalance" in d) || u + l + x > 0) exit 1 }' $(CHAOS_REPORT) || rc=1; \
	exit $$rc

# helm lint with the helm CLI built from the Go module proxy at a pinned version, in `make test`
# (so in CI). The first run builds helm (about 4-6 minutes on a fresh module cache, seconds
# after); the same lint also runs in `make unit` through Helm's Go packages (TestChartLint).
HELM_VERSION ?= v3.22.0
.PHONY: helm-lint
helm-lint:
	$(GO) run helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) lint --strict deploy/helm/bedrockwatch
	$(GO) run helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) lint --strict deploy/helm/bedrockwatch -f deploy/helm/testdata/all-on.yaml
