//! Shared by the benches: where their scenes are kept and the GeoTIFF tags of a north-up
//! UTM 33N raster.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use tiff::encoder::{DirectoryEncoder, TiffKind};
use tiff::tags::Tag;

/// `target/bench-data/NAME`, written once by `write` (to a temporary file, renamed when
/// `write` returns, so an interrupted write is never taken for a scene).
pub fn scene(name: &str, write: impl FnOnce(&Path)) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("target/bench-data");
    let path = dir.join(name);
    if !path.is_file() {
        let tmp = path.with_extension("tmp");
        write(&tmp);
        std::fs::rename(&tmp, &path).expect("rename");
    }
    path
}

/// Georeferencing: `gsd` m/pixel, top-left corner at (500 000, 5 000 000) in EPSG:32633
/// (GTModelType projected, RasterType PixelIsArea).
pub fn utm33n_tags<W: Write + Seek, K: TiffKind>(d: &mut DirectoryEncoder<'_, W, K>, gsd: f64) {
    d.write_tag(Tag::ModelPixelScaleTag, &[gsd, gsd, 0.0][..])
        .expect("scale");
    d.write_tag(
        Tag::ModelTiepointTag,
        &[0.0, 0.0, 0.0, 500_000.0, 5_000_000.0, 0.0][..],
    )
    .expect("tiepoint");
    d.write_tag(
        Tag::GeoKeyDirectoryTag,
        &[
            1u16, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633,
        ][..],
    )
    .expect("geokeys");
}
