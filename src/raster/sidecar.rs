//! The files beside a raster: a world file (georeferencing for a TIFF without GeoTIFF tags,
//! or a PNG/JPEG) and its `.prj`. Finding and reading them is here; what they say is
//! parsed in [`crate::geo`].

use crate::error::{Error, Result};
use crate::geo::{crs_from_prj, crs_without_prj, parse_world_file, world_file_extensions};
use crate::geo::{GeoRef, GeoTransform};
use std::path::{Path, PathBuf};

/// Largest world file or `.prj` read: a world file holds six numbers, a WKT a few KB.
const MAX_SIDECAR_BYTES: u64 = 1 << 20;

/// The georeferencing from a world file beside `path` (and its `.prj`), if there is one.
/// A missing or unreadable CRS is `Crs::Unknown` with the reason; `Scene::open` warns.
pub(super) fn world_georef(path: &Path) -> Result<Option<GeoRef>> {
    let Some(wf) = find_world_file(path) else {
        return Ok(None);
    };
    let transform = read_world_file(&wf)?;
    let prj = path.with_extension("prj");
    let crs = if prj.is_file() {
        crs_from_prj(&prj.display().to_string(), read_sidecar(&prj))
    } else {
        crs_without_prj(&wf.display().to_string())
    };
    Ok(Some(GeoRef { transform, crs }))
}

/// The world file beside an image, trying the candidate names in the order GDAL does.
fn find_world_file(path: &Path) -> Option<PathBuf> {
    let ext = path.extension()?.to_str()?;
    world_file_extensions(ext)
        .into_iter()
        .map(|e| path.with_extension(e))
        .find(|p| p.is_file())
}

fn read_world_file(wf: &Path) -> Result<GeoTransform> {
    let bad = |detail: String| Error::Georef {
        path: wf.to_path_buf(),
        detail: format!("world file: {detail}"),
    };
    let text = read_sidecar(wf).map_err(bad)?;
    parse_world_file(&text).map_err(bad)
}

/// A small text file beside the raster, read only when it is small.
fn read_sidecar(path: &Path) -> std::result::Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    f.take(MAX_SIDECAR_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SIDECAR_BYTES {
        return Err(format!(
            "larger than {MAX_SIDECAR_BYTES} bytes: not a world file or .prj"
        ));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}
