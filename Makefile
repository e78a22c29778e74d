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

# End-to-end tests drive Debian's Chromium (the admin) and nginx (shop.sendfile): installed
# here when we are root, otherwise those tests are skipped with the reason.
browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(NGINX) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium nginx; \
	else \
		echo "No Chromium at $(CHROMIUM) or nginx at $(NGINX): run 'sudo apt-get install -y chromium nginx' for those tests (skipped now)."; \
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
