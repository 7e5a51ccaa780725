//! How every output is written: never over an input, never half-written.
//!
//! [`write_atomic`] writes to a temporary file in the target's folder, flushes and syncs
//! it, and renames it over the target only when the whole content is written, so a run
//! that fails or is killed leaves the previous output byte-identical (and at worst a
//! `.satdet-tmp` file behind after a kill, never a truncated target). [`check_outputs`]
//! refuses, before anything is opened for writing, an output that resolves (through
//! symlinks, hard links, `..`) to an input or to another output.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

fn out_err(path: &Path, detail: impl Into<String>) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        detail: detail.into(),
        source: None,
    }
}

/// [`Error::Output`] with the operating system's error as its source.
fn os_err(path: &Path, doing: &str, e: std::io::Error) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        detail: format!("{doing}: {e}"),
        source: Some(e),
    }
}

/// The file a write to `path` really replaces: the target of a symlink (so the link keeps
/// pointing at the new content), else `path` itself.
fn resolve_target(path: &Path) -> Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(p) => Ok(p),
            // A dangling link: write where it points.
            Err(_) => {
                let target = std::fs::read_link(path).map_err(|e| out_err(path, e.to_string()))?;
                Ok(match path.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                })
            }
        },
        Ok(m) if m.is_dir() => Err(out_err(path, "is a folder, not a file")),
        _ => Ok(path.to_path_buf()),
    }
}

/// Refuses to replace what is not a plain, writable file: a device (`/dev/null`), a FIFO,
/// a socket, or a file its owner made read-only to protect it.
fn check_replaceable(path: &Path, target: &Path) -> Result<()> {
    match std::fs::metadata(target) {
        Ok(m) if !m.is_file() => Err(out_err(
            path,
            "exists and is not a regular file (a device, FIFO or socket): refusing to replace it",
        )),
        Ok(m) if m.permissions().readonly() => Err(out_err(
            path,
            "exists and is read-only: refusing to replace it (make it writable first)",
        )),
        _ => Ok(()),
    }
}

/// Removes the temporary file unless the write completed.
struct TempGuard {
    path: PathBuf,
    done: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `path` atomically: `fill` writes the whole content into a buffered temporary
/// file in the same folder, which is then flushed, synced and renamed over `path`. If
/// `fill` (or any step) fails, `path` is left exactly as it was and the temporary file is
/// removed.
///
/// ```
/// use std::io::Write;
/// # fn main() -> satdet::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("satdet-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("hello.txt");
/// satdet::output::write_atomic(&path, |w| {
///     w.write_all(b"hello").map_err(|e| satdet::Error::Config(e.to_string()))
/// })?;
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// # Ok(())
/// # }
/// ```
pub fn write_atomic(
    path: impl AsRef<Path>,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
) -> Result<()> {
    let path = path.as_ref();
    let target = resolve_target(path)?;
    check_replaceable(path, &target)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if target.file_name().is_none() {
        return Err(out_err(path, "has no file name"));
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (tmp, file) = {
        let mut attempt = 0u32;
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            // Short and fixed-length, so a long target name still leaves room for it.
            let tmp = dir.join(format!(".satdet-{}-{n}.tmp", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(f) => break (tmp, f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => {
                    return Err(os_err(
                        path,
                        &format!("cannot create a temporary file in {}", dir.display()),
                        e,
                    ))
                }
            }
        }
    };
    let mut guard = TempGuard {
        path: tmp.clone(),
        done: false,
    };
    // An existing target keeps its permissions.
    if let Ok(m) = std::fs::metadata(&target) {
        let _ = std::fs::set_permissions(&tmp, m.permissions());
    }
    let mut w = BufWriter::new(file);
    fill(&mut w)?;
    let file = w
        .into_inner()
        .map_err(|e| os_err(path, "writing", e.into_error()))?;
    file.sync_all().map_err(|e| os_err(path, "syncing", e))?;
    drop(file);
    std::fs::rename(&tmp, &target)
        .map_err(|e| os_err(path, "renaming the finished temporary file into place", e))?;
    guard.done = true;
    // Make the rename itself durable (best effort: not every platform syncs folders).
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// An I/O error while writing `path`, as [`Error::Output`].
pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| os_err(path, "writing", e)
}

/// Side-car extensions of a raster: world files, projection, GDAL's auxiliary files.
const SIDECAR_EXTS: [&str; 14] = [
    "tfw", "tifw", "tiffw", "wld", "pgw", "pngw", "jgw", "jpgw", "jpegw", "prj", "aux.xml", "ovr",
    "msk", "xml",
];

/// The files that belong to the scene at `scene`: itself and every side-car beside it
/// (`scene.tfw`, `scene.TFW`, `scene.prj`, `scene.tif.aux.xml`, …, any letter case). They
/// are inputs: no output may replace them.
pub fn scene_files(scene: &Path) -> Vec<PathBuf> {
    let mut out = vec![scene.to_path_buf()];
    let (Some(name), Some(stem)) = (scene.file_name(), scene.file_stem()) else {
        return out;
    };
    let (name, stem) = (
        name.to_string_lossy().to_lowercase(),
        stem.to_string_lossy().to_lowercase(),
    );
    let dir = match scene.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().to_lowercase();
        let side = SIDECAR_EXTS
            .iter()
            .any(|ext| n == format!("{stem}.{ext}") || n == format!("{name}.{ext}"));
        if side {
            out.push(e.path());
        }
    }
    out
}

/// [`check_outputs`] for a writer of the results of `scenes` made with `model`: none of
/// the scenes' files ([`scene_files`], each folder read once) nor the model may be
/// `output`.
pub(crate) fn check_result_output(scenes: &[&Path], model: &Path, output: &Path) -> Result<()> {
    let mut inputs: Vec<PathBuf> = Vec::new();
    for (i, scene) in scenes.iter().enumerate() {
        if !scenes[..i].contains(scene) {
            inputs.extend(scene_files(scene));
        }
    }
    inputs.push(model.to_path_buf());
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    check_outputs(&inputs, &[output])
}

/// What identifies a file: its (device, inode) where the platform has them, else its
/// canonical path; for a file that does not exist yet, its canonical folder + name.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    #[cfg(unix)]
    Inode(u64, u64),
    Path(PathBuf),
}

fn identity(path: &Path) -> Option<Identity> {
    if let Ok(m) = std::fs::metadata(path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            return Some(Identity::Inode(m.dev(), m.ino()));
        }
        #[cfg(not(unix))]
        {
            let _ = m;
            return std::fs::canonicalize(path).ok().map(Identity::Path);
        }
    }
    // Not there (yet): the canonical folder and the name. A dangling symlink resolves
    // to where it points.
    let path = resolve_target(path).ok()?;
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir = std::fs::canonicalize(dir).ok()?;
    Some(Identity::Path(dir.join(name)))
}

/// Refuses, before anything is written, an output that is (through symlinks, hard links
/// or `..`) one of the `inputs` or another output. Every satdet writer calls it with the
/// files it knows; programs writing several outputs call it once with all of them.
///
/// ```
/// use std::path::Path;
/// # let dir = std::env::temp_dir().join(format!("satdet-check-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let scene = dir.join("scene.tif");
/// std::fs::write(&scene, b"II*\0").unwrap();
/// let through_dotdot = dir.join("sub").join("..").join("scene.tif");
/// # std::fs::create_dir_all(dir.join("sub")).unwrap();
/// assert!(satdet::output::check_outputs(&[&scene], &[&through_dotdot]).is_err());
/// assert!(satdet::output::check_outputs(&[&scene], &[&dir.join("out.geojson")]).is_ok());
/// ```
pub fn check_outputs(inputs: &[&Path], outputs: &[&Path]) -> Result<()> {
    let ins: Vec<(&Path, Identity)> = inputs
        .iter()
        .filter_map(|p| identity(p).map(|i| (*p, i)))
        .collect();
    let mut outs: Vec<(&Path, Identity)> = Vec::new();
    for &o in outputs {
        if std::fs::metadata(o).is_ok_and(|m| m.is_dir()) {
            return Err(out_err(o, "is a folder, not a file"));
        }
        let Some(id) = identity(o) else {
            return Err(out_err(o, "its folder does not exist or cannot be read"));
        };
        if let Some((inp, _)) = ins.iter().find(|(_, i)| *i == id) {
            return Err(out_err(
                o,
                format!(
                    "is the input {}: refusing to overwrite an input",
                    inp.display()
                ),
            ));
        }
        if let Some((other, _)) = outs.iter().find(|(_, i)| *i == id) {
            return Err(out_err(
                o,
                format!(
                    "is also the output {}: give each output its own file",
                    other.display()
                ),
            ));
        }
        outs.push((o, id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmpdir() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    #[test]
    fn a_failure_midway_leaves_the_previous_output_untouched() {
        let d = tmpdir();
        let p = d.path().join("out.geojson");
        std::fs::write(&p, b"previous").expect("write");
        let r = write_atomic(&p, |w| {
            w.write_all(&[b'x'; 100_000]).map_err(io_err(&p))?;
            Err(Error::Config("injected failure".into()))
        });
        assert!(matches!(r, Err(Error::Config(_))), "{r:?}");
        assert_eq!(std::fs::read(&p).expect("read"), b"previous");
        let left: Vec<_> = std::fs::read_dir(d.path()).expect("dir").collect();
        assert_eq!(left.len(), 1, "temporary file removed: {left:?}");
        write_atomic(&p, |w| w.write_all(b"new").map_err(io_err(&p))).expect("write");
        assert_eq!(std::fs::read(&p).expect("read"), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn writing_through_a_symlink_replaces_the_target_and_keeps_the_link() {
        let d = tmpdir();
        let real = d.path().join("real.json");
        let link = d.path().join("link.json");
        std::fs::write(&real, b"old").expect("write");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        write_atomic(&link, |w| w.write_all(b"new").map_err(io_err(&link))).expect("write");
        assert!(std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).expect("read"), b"new");
    }

    #[test]
    fn devices_and_read_only_files_are_not_replaced() {
        let d = tmpdir();
        #[cfg(unix)]
        {
            let r = write_atomic("/dev/null", |w| {
                w.write_all(b"x").map_err(io_err(Path::new("n")))
            });
            assert!(
                matches!(&r, Err(Error::Output { detail, .. }) if detail.contains("not a regular file")),
                "{r:?}"
            );
        }
        let p = d.path().join("kept.geojson");
        std::fs::write(&p, b"kept").expect("write");
        let mut perm = std::fs::metadata(&p).expect("meta").permissions();
        perm.set_readonly(true);
        std::fs::set_permissions(&p, perm).expect("chmod");
        let r = write_atomic(&p, |w| w.write_all(b"new").map_err(io_err(&p)));
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).expect("read"), b"kept");
    }

    #[test]
    fn a_long_name_still_gets_a_temporary_file() {
        let d = tmpdir();
        let p = d.path().join(format!("{}.geojson", "x".repeat(240)));
        write_atomic(&p, |w| w.write_all(b"ok").map_err(io_err(&p))).expect("write");
        assert_eq!(std::fs::read(&p).expect("read"), b"ok");
    }

    #[test]
    fn side_cars_of_any_case_are_the_scene_s_files() {
        let d = tmpdir();
        let scene = d.path().join("scene.tif");
        for f in [
            "scene.tif",
            "scene.TFW",
            "scene.prj",
            "scene.tif.aux.xml",
            "scene.geojson",
            "other.tfw",
        ] {
            std::fs::write(d.path().join(f), b"x").expect("write");
        }
        let mut names: Vec<String> = scene_files(&scene)
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["scene.TFW", "scene.prj", "scene.tif", "scene.tif.aux.xml"]
        );
    }

    #[test]
    fn outputs_resolving_to_inputs_or_each_other_are_refused() {
        let d = tmpdir();
        let scene = d.path().join("scene.tif");
        std::fs::write(&scene, b"II*\0").expect("write");
        std::fs::create_dir(d.path().join("sub")).expect("mkdir");
        let dotdot = d.path().join("sub/../scene.tif");
        let r = check_outputs(&[&scene], &[&dotdot]);
        assert!(
            matches!(&r, Err(Error::Output { detail, .. }) if detail.contains("input")),
            "{r:?}"
        );
        #[cfg(unix)]
        {
            let link = d.path().join("link.geojson");
            std::os::unix::fs::symlink(&scene, &link).expect("symlink");
            assert!(check_outputs(&[&scene], &[&link]).is_err());
            let hard = d.path().join("hard.geojson");
            std::fs::hard_link(&scene, &hard).expect("hard link");
            assert!(check_outputs(&[&scene], &[&hard]).is_err());
        }
        let a = d.path().join("a.geojson");
        let a2 = d.path().join("sub/../a.geojson");
        let r = check_outputs(&[&scene], &[&a, &a2]);
        assert!(
            matches!(&r, Err(Error::Output { detail, .. }) if detail.contains("also the output")),
            "{r:?}"
        );
        check_outputs(&[&scene], &[&a, &d.path().join("b.png")]).expect("distinct");
        assert!(check_outputs(&[], &[d.path()]).is_err(), "a folder");
        assert!(check_outputs(&[], &[&d.path().join("nope/x.geojson")]).is_err());
    }
}
