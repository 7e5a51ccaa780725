//! GeoTIFF reading with the `tiff` crate, one strip or tile at a time.
//!
//! - [`header`]: a first look at the directories, bounding what the `tiff` crate reads.
//! - [`ifd`]: the image's tags: size, bands, samples, layout, masks, the chunk index
//!   (checked against the file), georeferencing ([`geotiff`], pure, on tag values).
//! - [`codec`]: pure: decompression, predictor and byte order of one chunk; [`jpeg`]:
//!   JPEG chunks (JPEGTables, YCbCr to RGB); [`webp`]: WebP chunks.
//! - [`cache`]: decoded chunks kept, bounded in bytes, for overlapping windows.
//! - [`source`]: window assembly from the chunks a window touches, fetched together
//!   (concurrently from object storage).
//! - [`overview`]: the reduced-resolution images after the first (overviews), opened on
//!   demand as sources of their own.
//! - [`color`]: which bands hold red, green and blue, as the tags say.
//! - [`mask`]: the image's internal transparency mask (GDAL's PER_DATASET mask), read as
//!   one more band, its alpha.
//!
//! The bytes come from a [`ByteSource`]: a local file or an object in a store; the
//! `tiff` crate parses the header through a [`BlockReader`] over it. Overviews read
//! through the same source.

mod cache;
mod codec;
mod color;
mod format;
mod geokeys_proj;
mod geotiff;
mod header;
mod ifd;
mod jpeg;
mod mask;
mod overview;
mod source;
mod webp;

use super::bytes::{BlockReader, ByteSource};
use super::scene::Opened;
use crate::error::Result;
use crate::limits::Limits;
use std::sync::Arc;

type Dec = tiff::decoder::Decoder<BlockReader>;

/// Opens a TIFF: its first image's header and georeferencing, and the list of its
/// overviews; pixels are read on demand. `first_block` is the first
/// [`ByteSource::header_block_bytes`] of the file, already read.
pub(in crate::raster) fn open(
    src: Arc<dyn ByteSource>,
    first_block: bytes::Bytes,
    limits: &Limits,
) -> Result<Opened> {
    let reader = BlockReader::new(src).with_first_block(first_block);
    let t = ifd::open_source(reader, limits)?;
    let decoded = Arc::clone(&t.source.decoded);
    let source = mask::with_mask(t.source, t.mask);
    Ok(Opened {
        georef: t.georef,
        acquired: t.acquired,
        rgb_bands: t.rgb_bands,
        warnings: t.warnings,
        source,
        overviews: (!t.overviews.sizes_empty()).then(|| Box::new(t.overviews) as _),
        decoded: Some(decoded),
    })
}
