//! Finding and loading the onnxruntime shared library.
//!
//! Search order (DESIGN.md): an explicit path; `ORT_DYLIB_PATH`; the folder that this
//! repository's set-up script installs into (the `onnxruntime` package in `.venv/` beside `Cargo.toml`); the `capi`
//! folders of the `onnxruntime` / `onnxruntime-gpu` Python packages; the system library
//! path. Failing all, the error lists each place tried and how to install it.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How to install onnxruntime, shown when it cannot be found.
pub const INSTALL_HINT: &str =
    "python3 -m pip install onnxruntime==1.32.0   (or run `bash scripts/setup.sh` in the satdet repository, which makes .venv/; or set ORT_DYLIB_PATH to libonnxruntime)";

#[cfg(target_os = "linux")]
const LIB_PREFIX: &str = "libonnxruntime.so";
#[cfg(target_os = "macos")]
const LIB_PREFIX: &str = "libonnxruntime";
#[cfg(windows)]
const LIB_PREFIX: &str = "onnxruntime.dll";
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
const LIB_PREFIX: &str = "libonnxruntime";

/// A place that may hold the library, and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Where the candidate came from (e.g. `ORT_DYLIB_PATH`).
    pub source: &'static str,
    /// A library file, or a folder to look in.
    pub path: PathBuf,
}

fn python_site_dirs() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        roots.push(PathBuf::from(v).join("lib"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        let h = PathBuf::from(h);
        roots.push(h.join(".local/lib"));
        if let Ok(rd) = std::fs::read_dir(h.join(".pyenv/versions")) {
            roots.extend(rd.flatten().map(|e| e.path().join("lib")));
        }
    }
    roots.push("/usr/local/lib".into());
    roots.push("/usr/lib".into());
    let mut out = Vec::new();
    for r in roots {
        let Ok(rd) = std::fs::read_dir(&r) else {
            continue;
        };
        let mut pys: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("python3"))
            })
            .collect();
        pys.sort();
        for p in pys {
            out.push(p.join("site-packages"));
            out.push(p.join("dist-packages"));
        }
    }
    out.push("/usr/lib/python3/dist-packages".into());
    out
}

/// Every candidate, in search order.
pub fn onnxruntime_candidates(explicit: Option<&Path>) -> Vec<Candidate> {
    // An explicit choice is the only candidate: failing it is an error, not a fallback.
    if let Some(p) = explicit {
        return vec![Candidate {
            source: "explicit path",
            path: p.to_path_buf(),
        }];
    }
    let mut c = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        c.push(Candidate {
            source: "ORT_DYLIB_PATH",
            path: p.into(),
        });
    }
    // The virtual environment that scripts/setup.sh creates.
    let venv_lib = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/lib");
    let mut setup: Vec<PathBuf> = std::fs::read_dir(&venv_lib)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path().join("site-packages/onnxruntime/capi"))
                .collect()
        })
        .unwrap_or_default();
    if setup.is_empty() {
        setup.push(venv_lib.join("python3/site-packages/onnxruntime/capi"));
    }
    setup.sort();
    c.extend(setup.into_iter().map(|path| Candidate {
        source: "satdet set-up (.venv)",
        path,
    }));
    for site in python_site_dirs() {
        c.push(Candidate {
            source: "Python package onnxruntime(-gpu)",
            path: site.join("onnxruntime/capi"),
        });
    }
    c
}

/// The library file in `p` (itself if it is a file).
fn library_in(p: &Path) -> Option<PathBuf> {
    if p.is_file() {
        return Some(p.to_path_buf());
    }
    let rd = std::fs::read_dir(p).ok()?;
    let mut libs: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|f| {
            f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(LIB_PREFIX) && !n.contains("providers"))
        })
        .collect();
    // Prefer the longest (fully versioned) name.
    libs.sort_by_key(|f| std::cmp::Reverse(f.as_os_str().len()));
    libs.into_iter().next()
}

/// The first onnxruntime library file found, or an error listing every place tried.
pub fn find_onnxruntime(explicit: Option<&Path>) -> Result<PathBuf> {
    let mut tried = String::new();
    for cand in onnxruntime_candidates(explicit) {
        match library_in(&cand.path) {
            Some(lib) => return Ok(lib),
            None => tried.push_str(&format!(
                "  - {} ({}): not found\n",
                cand.path.display(),
                cand.source
            )),
        }
    }
    Err(Error::RuntimeMissing {
        tried: format!(
            "Looked in:\n{tried}  - the system library path: not tried (no candidate file found)"
        ),
        install_hint: INSTALL_HINT,
    })
}

static ENV: Mutex<Option<(PathBuf, ort::environment::Environment)>> = Mutex::new(None);

/// The process-wide onnxruntime environment, loading the library on first use. Returns
/// the library path in use.
pub(crate) fn environment(
    explicit: Option<&Path>,
) -> Result<(PathBuf, ort::environment::Environment)> {
    let mut guard = ENV
        .lock()
        .map_err(|_| Error::Internal("onnxruntime initialisation panicked earlier".into()))?;
    if let Some((p, env)) = guard.as_ref() {
        if let Some(want) = explicit {
            if library_in(want).as_deref() != Some(p.as_path()) {
                return Err(Error::Config(format!(
                    "onnxruntime is already loaded from {} in this process; cannot switch to {}",
                    p.display(),
                    want.display()
                )));
            }
        }
        return Ok((p.clone(), env.clone()));
    }
    let mut tried = String::new();
    let mut found = Vec::new();
    for cand in onnxruntime_candidates(explicit) {
        match library_in(&cand.path) {
            Some(lib) => found.push((cand.source, lib)),
            None => tried.push_str(&format!(
                "  - {} ({}): not found\n",
                cand.path.display(),
                cand.source
            )),
        }
    }
    // Last: the bare name, resolved by the system's dynamic loader.
    if explicit.is_none() {
        found.push(("system library path", PathBuf::from(LIB_PREFIX)));
    }
    for (source, lib) in found {
        match ort::init_from(&lib) {
            Ok(b) => {
                let env = b
                    .with_name("satdet")
                    .with_telemetry(false)
                    .build()
                    .map_err(|e| {
                        Error::inference(
                            format!("creating the environment with {}", lib.display()),
                            e,
                        )
                    })?;
                *guard = Some((lib.clone(), env.clone()));
                return Ok((lib, env));
            }
            Err(e) => tried.push_str(&format!("  - {} ({source}): {e}\n", lib.display())),
        }
    }
    Err(Error::RuntimeMissing {
        tried: format!("Tried:\n{}", tried.trim_end()),
        install_hint: INSTALL_HINT,
    })
}
