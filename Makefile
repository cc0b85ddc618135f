# TickerPulse developer tasks. `make demo` and `make test` are the two commands a
# newcomer needs; both install what is missing first (`make setup`).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
# sam build with BuildMethod rust-cargolambda is a beta feature of SAM.
export SAM_CLI_BETA_RUST_CARGO_LAMBDA := 1
CARGO ?= cargo

.PHONY: data-check lexicons lexicon-check watchlist watchlist-check train-sentiment eval-sentiment eval-sentiment-grid eval-written sentiment-check setup java browser wrk vendor-check bench-api rust-targets demo test executions logs bench-lake bench-aggregate bench-heavy-day bench-freshness soak lint fmt-check clippy cargo-test template-check sam-build check-arm64 local-up local-down local-status clean-local bench-sentiment bench-transform fuzz

## setup: pinned Python tools into .venv, npm tools (asl-validator, playwright-core, uPlot) into node_modules,
## the arm64 Rust target, Java for Spark and Debian's Chromium for the browser test (idempotent)
setup: $(VENV)/.installed node_modules/.installed rust-targets java browser

$(VENV)/.installed: requirements-dev.txt
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Spark (the lake's Java reader in the tests) needs Java 17 or newer.
java:
	@java -version >/dev/null 2>&1 || { echo "installing a Java runtime for Spark"; \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y --no-install-recommends openjdk-17-jre-headless; }

APT_GET := $(if $(filter 0,$(shell id -u)),,sudo) apt-get
# The dashboard's browser test runs Debian's Chromium headless (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser test"; \
	  $(APT_GET) install -y --no-install-recommends chromium fonts-dejavu-core || \
	  { $(APT_GET) update -qq && $(APT_GET) install -y --no-install-recommends chromium fonts-dejavu-core; }; }

wrk:
	@command -v wrk >/dev/null 2>&1 || $(APT_GET) install -y --no-install-recommends wrk

# The dashboard's uPlot is compiled into the api binary from functions/api/assets/vendor:
# it must be the release pinned in package-lock.json.
vendor-check: node_modules/.installed
	cmp node_modules/uplot/dist/uPlot.iife.min.js functions/api/assets/vendor/uPlot.iife.min.js
	cmp node_modules/uplot/dist/uPlot.min.css functions/api/assets/vendor/uPlot.min.css

rust-targets:
	@rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

## demo: the 5,000 real tweets end to end on the local stack, then the dashboard and API on http://127.0.0.1:8080/v1/
demo: setup
	$(CARGO) run --release --quiet -p tickerpulse -- demo

## test: everything CI checks (the data root first: without it, nothing else can pass)
test: data-check setup lint vendor-check lexicon-check watchlist-check cargo-test sentiment-check template-check sam-build

## data-check: every third-party file the code reads is in the data root ($$TICKERPULSE_DATA, else
## the project's shared data folder beside the clone) with the sha256 that data/sources.toml records
data-check:
	@python3 data/dataroot.py check

## lexicons: VADER's lexicons and license from the pinned vaderSentiment wheel on PyPI, checked against its RECORD
lexicons: $(VENV)/.installed
	$(VENV)/bin/python crates/vader/data/lexicons.py extract

lexicon-check: $(VENV)/.installed
	$(VENV)/bin/python crates/vader/data/lexicons.py check

## watchlist: the default watch list (crates/core/data/sp500.csv) from the pinned pytickersymbols package
watchlist: $(VENV)/.installed
	$(VENV)/bin/python crates/core/data/sp500.py

watchlist-check: $(VENV)/.installed
	$(VENV)/bin/python crates/core/data/sp500.py check

lint: fmt-check clippy

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

cargo-test:
	$(CARGO) test --workspace

## template-check: cfn-lint, sam validate --lint, checkov, asl-validator
template-check: setup
	cfn-lint template.yaml
	sam validate --lint
	checkov --file template.yaml --framework cloudformation --quiet --compact --skip-download
	asl-validator --json-path statemachine/pipeline.asl.json

## sam-build: arm64 bootstrap binaries of every function, through cargo-lambda and zig
sam-build: setup
	sam build --beta-features
	$(MAKE) --no-print-directory check-arm64

check-arm64:
	@python3 -c 'import glob,re,sys; \
	  want=len(re.findall(r"Type: AWS::Serverless::Function\b", open("template.yaml").read())); \
	  fs=sorted(glob.glob(".aws-sam/build/*Function/bootstrap")); \
	  assert len(fs)==want, f"want {want} bootstrap binaries (the template'"'"'s functions), found {fs}"; \
	  bad=[f for f in fs if open(f,"rb").read(20)[18:20]!=bytes([0xb7,0])]; \
	  assert not bad, f"not aarch64 ELF: {bad}"; \
	  print(f"{len(fs)} arm64 bootstrap binaries in .aws-sam/build")'

local-up:
	$(CARGO) run --quiet -p tickerpulse -- local up

local-down:
	$(CARGO) run --quiet -p tickerpulse -- local down

local-status:
	$(CARGO) run --quiet -p tickerpulse -- local status

## bench-sentiment: this VADER against Python vaderSentiment, same sentences, one core
bench-sentiment: setup
	taskset -c 0 $(CARGO) bench -p tickerpulse-vader --bench sentiment

## train-sentiment: the model mode's weights (crates/vader/data/model.bin) from data/, byte for byte
train-sentiment: setup
	$(VENV)/bin/python training/sentiment/train.py train

## eval-sentiment: k-fold and cross-source macro-F1 of vader, finance and model (docs/sentiment.md)
eval-sentiment: setup
	$(VENV)/bin/python training/sentiment/train.py eval

## eval-written: real-source folds without and with the written chatter set (docs/sentiment.md, issue #35)
eval-written: setup
	$(VENV)/bin/python training/sentiment/train.py eval-written

## eval-sentiment-grid: the cross-source table for 24 settings of the model's knobs, scored on the test sources (an upper bound, ~10 min)
eval-sentiment-grid: setup
	$(VENV)/bin/python training/sentiment/train.py grid

# The committed weights are what the training script makes of the committed data.
sentiment-check: setup
	$(VENV)/bin/python training/sentiment/train.py check
	$(VENV)/bin/python training/sentiment/written.py check

## bench-transform: the transform handler on a full Firehose batch, against a Python transform
bench-transform: setup
	taskset -c 0 $(CARGO) bench -p tickerpulse-enrich --bench transform

## executions: the pipeline's recent executions (local stack; add ARGS=--aws with TICKERPULSE_STATE_MACHINE_ARN for AWS)
executions:
	$(CARGO) run --quiet -p tickerpulse -- pipeline executions $(ARGS)

## logs: a deployed function's logs, e.g. make logs FUNCTION=compact (sam logs --tail)
STACK ?= tickerpulse
logs:
	@test -n "$(FUNCTION)" || { echo "usage: make logs FUNCTION=ingest|transform|track|plan|compact|clean|aggregate|api"; exit 2; }
	$(VENV)/bin/sam logs --stack-name $(STACK) --name $$(echo $(FUNCTION) | sed 's/^./\U&/')Function --tail

## bench-lake: compaction of 1,000,000 generated enriched tweets to Parquet, against DuckDB (1 thread)
bench-lake: setup
	taskset -c 0 $(CARGO) bench -p tickerpulse-lake --bench lake

## bench-aggregate: aggregation of 1,000,000 stage 2 rows at every level, against DuckDB (1 thread)
bench-aggregate: setup
	taskset -c 0 $(CARGO) bench -p tickerpulse-aggregate --bench aggregate

## soak: the poll loops' properties over seed ranges in a release build: social's
## over seeds 0..100,000, ingest's X poll over 0..50,000 and its backfill over 0..2,000
## on a local stack (`make test` runs 1,000, 200 and 40 random ones);
## TICKERPULSE_SOAK_FROM and TICKERPULSE_SOAK_CASES change the range
soak: setup
	TICKERPULSE_SOAK_CASES=$${TICKERPULSE_SOAK_CASES:-100000} $(CARGO) test --release -p tickerpulse-social --test poll_props -- --ignored --nocapture soak_a_seed_range
	TICKERPULSE_SOAK_CASES=$${TICKERPULSE_SOAK_CASES:-50000} $(CARGO) test --release -p tickerpulse-e2e --test ingest_props -- --ignored --nocapture soak_a_seed_range
	TICKERPULSE_SOAK_CASES=$${TICKERPULSE_SOAK_CASES:-2000} $(CARGO) test --release -p tickerpulse-e2e --test ingest_props -- --ignored --nocapture soak_the_backfill_over_a_seed_range

## bench-heavy-day: one hour at 1,000,000 and 10,000,000 tweets a day through plan, compact, clean and aggregate, with DynamoDB and S3 latency added
bench-heavy-day: setup
	$(CARGO) bench -p tickerpulse-e2e --bench heavy_day

## bench-freshness: the lag from a tweet's arrival to the API on the local stack, and what each 15-minute run touches
bench-freshness: setup
	$(CARGO) bench -p tickerpulse-e2e --bench freshness

## bench-api: p50/p99 latency and requests per second of every endpoint (wrk, loopback) on the demo's data
bench-api: setup wrk
	$(CARGO) build --release --quiet -p tickerpulse
	$(VENV)/bin/python bench/api.py target/release/tickerpulse

## fuzz: each fuzz target (the transform path; the Firehose event reader against serde) under libFuzzer
## for FUZZ_SECONDS (default 600); the corpus (fuzz/corpus, not committed: it holds post text) is
## seeded from the data root on the first run and kept on this machine
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= transform_records firehose_event
fuzz: data-check
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	@test -d fuzz/corpus/transform_records || python3 fuzz/seed.py
	cd fuzz && for t in $(FUZZ_TARGETS); do RUSTC_BOOTSTRAP=1 cargo fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 || exit 1; done
