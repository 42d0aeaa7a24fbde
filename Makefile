# rivven-connect — see README.md. Every target works on a fresh machine with
# only Go installed (the module proxy supplies the dependencies).
GO       ?= go
BIN      := bin/rivven-connect
PKGS     := ./...
RACEPKGS := ./runtime/... ./stdlib/... ./golden/gen

.PHONY: all build run test check vet fmt staticcheck golden bench fuzz soak clean wasm-example

all: build

build:
	$(GO) build -o $(BIN) ./cmd/rivven-connect

## run: build and run the embedded quick start (datagen → filter → mask → stdout)
run: build
	./$(BIN) run -c examples/quickstart.yaml

## wasm-example: build the example WASM plugins into examples/wasm/ (Go ones with the
## wasip1 port, .wat ones with wabt's wat2wasm); then
## ./bin/rivven-connect run -c examples/wasm/pipeline.yaml (or spin.yaml)
WASM_GO  := mask rename counter jsonl
WASM_WAT := echo spin bomb
wasm-example:
	for p in $(WASM_GO); do GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o examples/wasm/$$p.wasm ./examples/wasm/$$p || exit 1; done
	for w in $(WASM_WAT); do wat2wasm examples/wasm/$$w.wat -o examples/wasm/$$w.wasm || exit 1; done

## test: the whole suite (CI runs exactly this), and a short run of the
## mutation fuzz target: every golden config and example, mutated, checks in
## under 2 s without a panic, an error without a position or a variable's value.
## The run is counted in executions, not seconds: a -fuzztime duration races Go's
## fuzzing coordinator on a loaded machine ("context deadline exceeded" with no
## failing input).
MUTATIONFUZZTIME ?= 1000x
test: check
	$(GO) test -count=1 $(PKGS)
	$(GO) test -count=1 -race $(RACEPKGS)
	$(GO) test ./golden -run '^$$' -fuzz FuzzCheckMutations -fuzztime $(MUTATIONFUZZTIME)

## check: formatting, vet, staticcheck and tidy modules
check: fmt vet staticcheck
	$(GO) mod tidy -diff

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) tool staticcheck $(PKGS)

## golden: rewrite the golden files from the current behaviour
golden:
	$(GO) test ./golden -update

## bench: benchmarks with ratios against baselines measured in the same run
BENCHTIME ?= 1s
# PostgreSQL slot drains: one op is one row; the baseline is pg_recvlogical.
# Each side drains idle, then contended (with a busy-loop process competing
# for the cores); PG_LOADS picks among idle|contended. Every drain runs
# PG_BENCH_COUNT times: the ratios give the median and the spread.
PG_BULK_ROWS ?= 1000000
PG_SINGLE_ROWS ?= 100000
# MySQL binlog drains: one op is one row; the baseline is mariadb-binlog (mysqlbinlog)
# reading the same binlog to /dev/null, raw (copying the row events as base64) and
# decoded (--verbose: decoding every row too).
MYSQL_BINLOG_ROWS ?= 1000000
# mysql-cdc commit-to-sink latency: single-row commits at 5,000/s for 10 s (one op = one run),
# with and without a state_dir; latencies swing with other load on the cores.
MYSQL_LATENCY_COUNT ?= 3
PG_LOADS ?= idle|contended
PG_BENCH_COUNT ?= 3
# S3 sink: MB/s of JSON lines and of Parquet objects (one op = one object of 25000 datagen
# orders) written by the sink to the loopback versitygw; the baseline is a bare aws-sdk-go-v2
# PutObject loop of the same bytes. Loopback numbers swing with other load on the cores:
# S3_BENCH_COUNT runs each, the ratios give the median and the spread.
S3_BENCH_COUNT ?= 5
bench:
	( $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./compiler/interp ./golden/gen ./stdlib/datagen ./runtime ./stdlib/rivven/sink ./stdlib/httpsink ./stdlib/httpsource ./schemas ./stdlib/schemaformat && \
	  $(GO) test -run '^$$' -bench 'S3Sink' -benchtime $(BENCHTIME) -count $(S3_BENCH_COUNT) ./stdlib/s3sink && \
	  $(GO) test -run '^$$' -bench 'SlotDrainBulk/($(PG_LOADS))/' -benchtime $(PG_BULK_ROWS)x -count $(PG_BENCH_COUNT) -timeout 60m ./stdlib/postgres/cdc && \
	  $(GO) test -run '^$$' -bench 'SlotDrainSingles/($(PG_LOADS))/' -benchtime $(PG_SINGLE_ROWS)x -count $(PG_BENCH_COUNT) -timeout 60m ./stdlib/postgres/cdc && \
	  $(GO) test -run '^$$' -bench 'BinlogDrain' -benchtime $(MYSQL_BINLOG_ROWS)x -timeout 60m ./stdlib/mysql/cdc && \
	  $(GO) test -run '^$$' -bench 'CommitToSinkLatency' -benchtime 1x -count $(MYSQL_LATENCY_COUNT) -timeout 30m ./stdlib/mysql/cdc ) | $(GO) run ./cmd/benchratio

## soak: long runs (not part of make test): the driver soak, 1M-row CDC transactions, and
## CDC stop/start cycles of the real binary under write load (SIGTERM: nothing lost or
## re-delivered; kill -9: nothing lost; SIGTERM mid-snapshot and before connecting), the
## same for mysql-cdc, kill -9 failover cycles of a mysql-cdc cluster singleton, and kill -9
## cycles of the s3 sink mid-upload (the bucket ends byte-identical to a clean run)
SOAK_SECONDS ?= 60
SOAK_CDC_CYCLES ?= 20
SOAK_S3_CYCLES ?= 20
soak:
	RIVVEN_SOAK=$(SOAK_SECONDS) $(GO) test ./runtime -run Soak -v -count=1
	RIVVEN_LONG_TESTS=1 $(GO) test ./stdlib/postgres/cdc -run 'TestBigTransaction' -v -count=1 -timeout 30m
	RIVVEN_SOAK_CDC=$(SOAK_CDC_CYCLES) $(GO) test ./cmd/internal/cli -run 'TestCDCStopStartSoak' -v -count=1 -timeout 60m
	RIVVEN_LONG_TESTS=1 $(GO) test ./stdlib/mysql/cdc -run 'TestLong|TestTableAddedToTablesIsReSnapshottedWhileStreaming' -v -count=1 -timeout 30m
	RIVVEN_SOAK_MYSQL=$(SOAK_CDC_CYCLES) $(GO) test ./cmd/internal/cli -run 'TestMySQLCDCStopStartSoak' -v -count=1 -timeout 60m
	RIVVEN_SOAK_FAILOVER=$(SOAK_CDC_CYCLES) $(GO) test ./cmd/internal/cli -run 'TestDistributedMySQLSingletonFailover' -v -count=1 -timeout 30m
	RIVVEN_SOAK_S3=$(SOAK_S3_CYCLES) $(GO) test ./cmd/internal/cli -run 'TestS3Kill9Soak' -v -count=1 -timeout 60m

## fuzz: long fuzz runs (not part of make test)
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./compiler/config -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./compiler/lock -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./golden -run '^$$' -fuzz FuzzCheckMutations -fuzztime $(FUZZTIME)
	$(GO) test ./compiler/cond -run '^$$' -fuzz FuzzCompile -fuzztime $(FUZZTIME)
	$(GO) test ./golden/gen -run '^$$' -fuzz FuzzInterpVsCompiled -fuzztime $(FUZZTIME)
	$(GO) test ./schemas -run '^$$' -fuzz FuzzAvroDecode -fuzztime $(FUZZTIME)
	$(GO) test ./stdlib/postgres/cdc -run '^$$' -fuzz FuzzPgoutput -fuzztime $(FUZZTIME)
	$(GO) test ./stdlib/wasm -run '^$$' -fuzz FuzzDecodeTransform -fuzztime $(FUZZTIME)
	$(GO) test ./stdlib/wasm/abi -run '^$$' -fuzz FuzzReadBatch -fuzztime $(FUZZTIME)
	# Minimizing a new input re-runs go-mysql's decoding, whose errors format every row read:
	# kept short so the run fuzzes rather than minimizes.
	$(GO) test ./stdlib/mysql/cdc -run '^$$' -fuzz FuzzImageDecoder -fuzztime $(FUZZTIME) -fuzzminimizetime 3s

clean:
	rm -rf bin
