//! Many scenes as one job, runs that survive being killed, and shards on a cluster.
//!
//! The unit of work is a tile of a scene's plan; what a tile gives is a
//! [`TileOutcome`](crate::pipeline::TileOutcome) (its candidates after in-tile NMS).
//! Seam merging is order-independent, so a job's result is a pure function of its tiles'
//! outcomes, however they were computed: in one run, in a run resumed from a journal, or
//! in N shards on N machines. This module holds what that needs:
//!
//! - [`expand_inputs`]: the scenes of a job from paths, folders and list files.
//! - [`Shard`]: the I-th of N deterministic, balanced, contiguous parts of the job's tiles,
//!   from `--shard I/N` or a cluster engine's environment (SLURM job arrays, Kubernetes
//!   Indexed Jobs).
//! - [`TileFile`] / [`TileFileWriter`]: a journal or shard file: the job's identity, then
//!   one checksummed block per finished tile, appended and synced in batches; a torn last
//!   block (a kill, a power loss) is dropped on reading and redone.
//! - [`merge_scenes`]: the detections of several scenes as one result, objects in the
//!   overlap of two scenes reported once (compared in one common metric plane, whatever
//!   the scenes' CRSs).

mod merge;
mod shard;
mod tiles;

pub use merge::{merge_scenes, JobDetections};
pub use shard::Shard;
pub use tiles::{fingerprint, JobHeader, SceneEntry, TileFile, TileFileWriter, TILES_EXTENSION};

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Raster extensions a folder input contributes (case-insensitive).
pub const SCENE_EXTENSIONS: [&str; 6] = ["tif", "tiff", "png", "jpg", "jpeg", "vrt"];

/// List-file extensions: a text file of scene paths or URLs, one per line.
pub const LIST_EXTENSIONS: [&str; 2] = ["txt", "lst"];

fn has_ext(p: &Path, exts: &[&str]) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Whether `s` names a scene in object storage or on a web server.
pub fn is_url(s: &str) -> bool {
    ["http://", "https://", "s3://", "gs://", "az://", "azure://"]
        .iter()
        .any(|p| s.starts_with(p))
}

/// The scenes of a job, in order: each input is a scene (a raster file or a URL), a
/// folder (its rasters, by extension, sorted by name; not recursive), or a list file
/// (`.txt`/`.lst`: one path or URL per line; blank lines and `#` comments ignored;
/// relative paths are relative to the list file's folder). A scene named twice is an
/// error, as is an empty job.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("b.tif"), b"")?;
/// std::fs::write(dir.path().join("a.TIF"), b"")?;
/// std::fs::write(dir.path().join("notes.md"), b"")?;
/// std::fs::write(dir.path().join("more.txt"), "# strips of one pass\nc.tif\nhttps://example.com/d.tif\n")?;
/// let scenes = satdet::job::expand_inputs(&[dir.path().to_path_buf(), dir.path().join("more.txt")])?;
/// let names: Vec<_> = scenes.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
/// assert_eq!(names, ["a.TIF", "b.tif", "c.tif", "d.tif"]);
/// # Ok(())
/// # }
/// ```
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = Vec::new();
    for input in inputs {
        let s = input.to_string_lossy();
        if is_url(&s) {
            out.push(input.clone());
        } else if input.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| Error::io(input, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && has_ext(p, &SCENE_EXTENSIONS))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Error::Config(format!(
                    "{}: the folder holds no raster ({})",
                    input.display(),
                    SCENE_EXTENSIONS.join(", ")
                )));
            }
            out.extend(found);
        } else if has_ext(input, &LIST_EXTENSIONS) {
            let text = std::fs::read_to_string(input).map_err(|e| Error::io(input, e))?;
            let base = input.parent().unwrap_or(Path::new(""));
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let p = PathBuf::from(line);
                out.push(if is_url(line) || p.is_absolute() {
                    p
                } else {
                    base.join(p)
                });
            }
        } else {
            out.push(input.clone());
        }
    }
    if out.is_empty() {
        return Err(Error::Config("the job has no scene".into()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &out {
        let key = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        if !seen.insert(key) {
            return Err(Error::Config(format!(
                "{}: the scene is named twice in the job",
                p.display()
            )));
        }
    }
    Ok(out)
}

/// Runs `detector` on each scene (in order) and merges the results into one
/// ([`merge_scenes`] with the detector's thresholds): the library's form of
/// `satdet detect SCENE SCENE…`. The first scene that fails ends the call with its error;
/// to report failures and go on, call [`crate::Detector::detect`] per scene and merge
/// what succeeded. Scenes of one place at different dates are not a job (their objects
/// would merge): compare them with [`crate::analysis::compare`].
///
/// ```
/// # fn main() -> satdet::Result<()> {
/// # let fx = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/generated/");
/// let scenes = [
///     satdet::Scene::open(format!("{fx}utm_rgb_tiled_lzw.tif"))?,
///     satdet::Scene::open(format!("{fx}utm_rgb_jpeg_ycbcr.tif"))?, // the same place, JPEG
/// ];
/// let detector = satdet::Detector::builder().model(format!("{fx}square_detector.onnx")).build()?;
/// let job = satdet::job::detect_scenes(&detector, &scenes)?;
/// // The two scenes cover the same ground: each of the 16 squares is reported once.
/// assert_eq!(job.detections.len(), 16);
/// assert_eq!(job.duplicates[1], 16);
/// # Ok(())
/// # }
/// ```
pub fn detect_scenes(
    detector: &crate::pipeline::Detector,
    scenes: &[crate::raster::Scene],
) -> Result<JobDetections> {
    let mut found = Vec::with_capacity(scenes.len());
    for s in scenes {
        found.push(detector.detect(s)?);
    }
    let (iou, ios) = detector.merge_thresholds();
    merge_scenes(&found, f64::from(iou), f64::from(ios))
}
