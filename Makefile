# The two commands that matter: `make run` and `make test`. `make help` lists the rest.
SWIFT ?= swift
PROTOS := $(shell find Protos -name '*.proto' | sort)
# The files of the MarketplaceAPI module (its index, MarketplaceAPIIndex, lists them).
MARKETPLACE_PROTOS := $(shell find Protos/marketplace -name '*.proto' | sort)
export PATH := $(PATH):/opt/swift/usr/bin

.PHONY: help bootstrap build run test lint format test-stress generate check-generated bench fuzz fuzz-http clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-16s %s\n", $$1, $$2}'

bootstrap: ## Install what this machine lacks (apt/pip, only when missing)
	@./scripts/bootstrap.sh

build: bootstrap ## Build everything (debug)
	$(SWIFT) build

run: build ## Build and start the system (gateway 8080, bus 8007, auth 8000, users 8002, orders 8003, payments 8004; Ctrl-C stops)
	$(SWIFT) run marketplace run

test: bootstrap lint ## Build and run every test (after the format check)
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Our Swift, but not the golden file of generated code the compiler's tests compare with.
FORMATTED = $(shell find Sources Tests Plugins Benchmarks/Sources -name '*.swift' -not -path '*/Golden/*' | sort) Package.swift Benchmarks/Package.swift

lint: ## Check the code's format (swift format, in the toolchain; .swift-format: 120 columns)
	@$(SWIFT) format lint --strict $(FORMATTED) && echo "lint: $(words $(FORMATTED)) files formatted as .swift-format says"

format: ## Format the code in place (what lint checks)
	$(SWIFT) format --in-place $(FORMATTED)

test-stress: ## The whole suite RUNS times (default 10) beside a busy core (stress-ng --cpu 1); every run must pass
	RUNS=$(or $(RUNS),10) ./scripts/test-stress.sh

generate: ## Refresh Generated/ (Swift snapshot, descriptor set, the gateway's openapi.json) from Protos/
	$(SWIFT) run protogen -I Protos --out Generated/swift --descriptor-set-out Generated/descriptors.binpb $(PROTOS)
	$(SWIFT) run protogen -I Protos --out Generated/swift --index MarketplaceAPIIndex --only-index $(MARKETPLACE_PROTOS)
	$(SWIFT) run marketplace openapi --out Generated/openapi.json

check-generated: ## Fail if Generated/ is stale
	$(SWIFT) run protogen -I Protos --out Generated/swift --descriptor-set-out Generated/descriptors.binpb --check $(PROTOS)
	$(SWIFT) run protogen -I Protos --out Generated/swift --index MarketplaceAPIIndex --only-index --check $(MARKETPLACE_PROTOS)

bench: bootstrap ## Run the benchmarks (release, separate package): codec vs SwiftProtobuf, RPC vs gRPC Swift 2 and raw NIO, bus, logins, pays
	cd Benchmarks && $(SWIFT) build -c release
	cd Benchmarks && .build/release/ProtoBench
	cd Benchmarks && .build/release/RPCBench run --duration $(or $(BENCH_SECONDS),10)
	cd Benchmarks && ./count-allocations.sh
	cd Benchmarks && .build/release/BusBench --events $(or $(BUS_EVENTS),20000)
	cd Benchmarks && .build/release/AuthBench --seconds 5
	cd Benchmarks && .build/release/PayBench --pays $(or $(PAYS),1000) --concurrency 4

fuzz: ## Fuzz the binary decoder, the JSON parser and the frame decoder with 1,000,000 inputs each
	$(SWIFT) run -c release protofuzz --iterations $(or $(ITERATIONS),1000000)

fuzz-http: bootstrap ## schemathesis against the running gateway's OpenAPI document, 200 examples per operation and role
	$(SWIFT) build --build-tests
	SCHEMATHESIS_MAX_EXAMPLES=$(or $(EXAMPLES),200) SCHEMATHESIS_SECONDS=$(or $(SECONDS_PER_ROLE),600) $(SWIFT) test --skip-build --filter SchemathesisTests

clean: ## Remove build output
	rm -rf .build Benchmarks/.build
