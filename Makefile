# Set-up and the two everyday commands: `make run` and `make test`.
# Each creates .venv with the pinned requirements the first time.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test browser redis clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.app: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: requirements.txt requirements-test.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

run: $(VENV)/.app
	$(BIN)/python -m dashboard

# Browser tests need Debian's chromium + chromium-driver; install them when
# missing and we are root with apt-get. Otherwise those tests skip and say why.
browser:
	@command -v chromedriver >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "chromium/chromedriver missing and cannot install them: browser tests will skip"; fi; }

# The Redis upload store's tests start their own redis-server (Debian's redis-server package); install it
# the same way, or they skip and say why.
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server missing and cannot install it: Redis store tests will skip"; fi; }

test: $(VENV)/.test browser redis
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV)
