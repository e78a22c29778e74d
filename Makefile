# localshop: `make run` starts the server on http://localhost:8000; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

CHROMIUM ?= /usr/bin/chromium

.PHONY: run test bench clean browser

run: $(VENV)/.installed
	$(BIN)/pserve development.ini

test: $(VENV)/.installed-test browser
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

NGINX ?= /usr/sbin/nginx

# End-to-end tests drive Debian's Chromium (the admin), nginx (shop.sendfile, several
# processes behind one address) and PostgreSQL (RelStorage): installed here when we are root,
# otherwise those tests are skipped with the reason. The tests start nginx and throwaway
# PostgreSQL clusters themselves: Debian would start the installed services for good, so a
# policy-rc.d that answers 101 forbids that during the install (only if there is none, and
# removed again however apt ends), and a newly installed service that started anyway is
# stopped and disabled (failures ignored: there may be no init system at all).
POLICY_RC = /usr/sbin/policy-rc.d
SERVICES = nginx postgresql
# Debian keeps the server's programs off the PATH, under its major version.
INITDB = $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))

browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(NGINX) ] && [ -n "$(INITDB)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		new=; for s in $(SERVICES); do [ -e /etc/init.d/$$s ] || new="$$new $$s"; done; \
		if [ ! -e $(POLICY_RC) ]; then \
			trap 'rm -f $(POLICY_RC)' EXIT INT TERM; \
			printf '#!/bin/sh\n# written by localshop make browser: no service starts now\nexit 101\n' \
				> $(POLICY_RC) && chmod 755 $(POLICY_RC); \
		fi; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium nginx postgresql; \
		status=$$?; \
		for s in $$new; do \
			service $$s stop >/dev/null 2>&1 || true; \
			if command -v systemctl >/dev/null; then systemctl disable --now $$s >/dev/null 2>&1 || true; fi; \
		done; \
		exit $$status; \
	else \
		echo "No Chromium at $(CHROMIUM), nginx at $(NGINX) or PostgreSQL's initdb: run 'sudo apt-get install -y chromium nginx postgresql' for those tests (skipped now)."; \
	fi

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: setup.py $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) .cache *.egg-info
