#!/usr/bin/env bash
# The whole test suite: installs what it needs, generates the fixtures, runs every test
# (unit, integration, doc) in one test build.
set -euo pipefail
cd "$(dirname "$0")/.."
# The test build needs a few GB of disk; say how much there is, so a full disk is plain.
df -h . | sed 's/^/test: disk /'
# Incremental compilation state is of no use to a one-off build and costs disk.
export CARGO_INCREMENTAL=0
bash scripts/setup.sh
.venv/bin/python tests/fixtures/make_fixtures.py
# The `cuda` and `tensorrt` features must at least build (there is no GPU in CI).
cargo check --lib --features cuda,tensorrt --locked
# The CLI tests (tests/cli.rs) run the example program as users do: build it first (the
# same dev profile as the tests, so only the example itself is compiled and linked).
cargo build --example satdet --features serde --locked
# The HTML report's test renders it in headless Chromium (installed by setup.sh); here a
# missing browser fails the test instead of skipping its browser half.
export SATDET_REQUIRE_CHROMIUM=1
cargo test --all-targets --features serde --locked
cargo test --doc --features serde --locked
