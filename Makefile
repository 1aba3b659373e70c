# consist — build and test targets. `make test` is the whole suite; CI runs it.

GO ?= go
FUZZTIME ?= 60s

.PHONY: test build install example fuzz bench

# The whole test suite: vet, then every package's tests, real servers
# included: scripts/servers.sh installs etcd, Redis and MariaDB when
# missing, starts them for the tests and stops them after, whatever the
# outcome — unless they were up before, then they are left up (the
# reference corpora in ../shared/data are checked when present).
# scripts/chromium.sh installs the headless Chromium the browser tests use,
# scripts/tools.sh xmllint (the JUnit XML tests validate with it).
test:
	$(GO) vet ./...
	scripts/servers.sh install
	scripts/chromium.sh install
	scripts/tools.sh install
	if scripts/servers.sh status >/dev/null 2>&1; then was_up=1; else was_up=; fi; \
	env_file=$$(scripts/servers.sh start | tail -n 1) && \
	. "$$env_file" && \
	CONSIST_REQUIRE_SERVERS=1 $(GO) test ./...; \
	rc=$$?; [ -n "$$was_up" ] || scripts/servers.sh stop; exit $$rc

build:
	$(GO) build -o bin/consist ./cmd/consist

install:
	$(GO) install ./cmd/consist

# The main job: drive the embedded store, record and check the history.
example:
	$(GO) run ./cmd/consist run

# Run every reader's fuzz target for FUZZTIME each, one after another.
fuzz:
	for target in $$($(GO) test ./history -list '^Fuzz' | grep '^Fuzz'); do \
		$(GO) test ./history -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

# consist beside Porcupine on Porcupine's corpus, in one run, and the
# read-mapping engine on generated histories of 100,000 and 1,000,000
# operations. `consist bench` compares the two on any history.
bench:
	$(GO) test ./checker/linearizable -run '^$$' -bench 'PorcupineCorpus|ReadMapping' -benchtime 3x -benchmem
