# Authly for .NET. The two commands the README promises: `make serve` and `make test`.
DOTNET ?= dotnet
PORT ?= 8000
DATA_DIR ?= .authly-data
CONFIG ?= Release

.PHONY: serve test test-external build deps docs bench bench-proxy bench-argon2 clean cluster-test publish standalone-check standalone-image

## Run the server with a private PostgreSQL and Redis (data in $(DATA_DIR)), admin bootstrapped, URLs printed.
serve: deps
	$(DOTNET) build Authly.Cli -c $(CONFIG) -nologo -v quiet
	$(DOTNET) Authly.Cli/bin/$(CONFIG)/net10.0/authly.dll serve --embedded --data-dir $(DATA_DIR) --port $(PORT)

## Run every test against real PostgreSQL and Redis (the harness starts private ones) and a real headless Chromium.
test: deps
	@scripts/ensure-deps.sh nginx chromium
	rm -rf TestResults
	$(DOTNET) build Authly.sln -c $(CONFIG) -nologo -v quiet
	$(DOTNET) test Authly.Tests -c $(CONFIG) --no-build --logger "trx;LogFileName=authly.trx" --logger "console;verbosity=normal" --results-directory TestResults; \
	  status=$$?; scripts/test-summary.sh TestResults; exit $$status

## The same tests against PostgreSQL and Redis you run (e.g. CI service containers) instead of private
## ones: AUTHLY_TEST_DATABASE_URL (a role that may CREATE and DROP databases) and AUTHLY_TEST_REDIS_URL
## must be set; FILTER="FullyQualifiedName~Stores" narrows the run. See README, "Tests".
test-external:
	@test -n "$$AUTHLY_TEST_DATABASE_URL" && test -n "$$AUTHLY_TEST_REDIS_URL" || \
	  { echo "set AUTHLY_TEST_DATABASE_URL and AUTHLY_TEST_REDIS_URL (README, Tests)" >&2; exit 2; }
	@scripts/ensure-deps.sh nginx chromium
	$(DOTNET) build Authly.sln -c $(CONFIG) -nologo -v quiet
	$(DOTNET) test Authly.Tests -c $(CONFIG) --no-build $(if $(FILTER),--filter "$(FILTER)") --logger "console;verbosity=normal"

## Three Authly processes on one PostgreSQL and Redis behind nginx (also part of `make test`).
cluster-test: deps
	@scripts/ensure-deps.sh nginx
	$(DOTNET) build Authly.sln -c $(CONFIG) -nologo -v quiet
	$(DOTNET) test Authly.Tests -c $(CONFIG) --no-build --filter Category=Cluster --logger "console;verbosity=normal"

build:
	$(DOTNET) build Authly.sln -c $(CONFIG) -nologo

## Regenerate docs/cli.md from the CLI's command tree (a test fails while it differs). AUTHLY_* variables are
## unset because three `serve` defaults read them.
docs:
	$(DOTNET) build Authly.Cli -c $(CONFIG) -nologo -v quiet
	env $$(env | sed -n 's/^\(AUTHLY_[A-Za-z0-9_]*\)=.*/-u \1/p') DOTNET_NOLOGO=1 \
	  $(DOTNET) Authly.Cli/bin/$(CONFIG)/net10.0/authly.dll --commands --markdown > docs/cli.md.tmp
	mv docs/cli.md.tmp docs/cli.md

deps:
	@scripts/ensure-deps.sh

## Load benchmark (see bench/README.md).
bench: deps
	@scripts/ensure-deps.sh wrk curl
	bench/run.sh

## Proxied vs direct SELECT 1 and GET latency (see bench/README.md). pgbench comes with the
## PostgreSQL server package and redis-benchmark with redis-server's redis-tools, which deps installs.
bench-proxy: deps
	@scripts/ensure-deps.sh wrk curl
	bench/proxy.sh

## Argon2id hashes per second on one thread: Geralt (what Authly uses) vs Debian's libsodium23 vs Konscious.
bench-argon2: deps
	@scripts/ensure-deps.sh libsodium23
	$(DOTNET) build bench/HashBench -c Release -nologo -v quiet
	$(DOTNET) bench/HashBench/bin/Release/net10.0/hashbench.dll compare

## The framework-dependent `authly` in out/ (the standalone Dockerfile runs the same command).
publish:
	$(DOTNET) publish Authly.Cli -c Release -o out -nologo -v quiet

## Checks docker-standalone/ without a Docker engine: scripts, compose, Prometheus, Grafana, and a
## live run of the entrypoint and helper commands (docker-standalone/tests/standalone-check.sh).
standalone-check: deps publish
	@scripts/ensure-deps.sh shellcheck promtool docker-compose nginx
	docker-standalone/tests/standalone-check.sh out/authly

## The all-in-one image (needs a Docker engine).
standalone-image:
	docker build -f docker-standalone/Dockerfile -t authly-standalone .

clean:
	rm -rf */bin */obj TestResults out
