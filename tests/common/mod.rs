//! Shared helpers for the integration tests: the generated fixtures.
#![allow(dead_code)]

use std::path::PathBuf;

/// The folder `tests/fixtures/make_fixtures.py` writes to.
pub fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generated");
    assert!(
        dir.join("manifest.json").is_file(),
        "test fixtures missing: run `python3 tests/fixtures/make_fixtures.py` (or `bash .ci/run`, which does)"
    );
    dir
}

pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

pub fn manifest() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest is JSON")
}
