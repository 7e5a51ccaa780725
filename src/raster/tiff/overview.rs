//! A GeoTIFF's overviews: the directories after the first whose NewSubfileType says
//! "reduced resolution" (and not "mask"), listed from the bounded header scan at open,
//! each parsed and checked like the first image only when it is opened. An overview reads
//! through the same [`ByteSource`] as the image (a file or an object in a store): opening
//! one reads the header's directories again and then only its own chunks.

use super::header::IfdSummary;
use super::ifd::{decoder, image_parts, tiff_error, tiff_source};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::raster::bytes::{BlockReader, ByteSource};
use crate::raster::overview::{OpenedOverview, Overview, OverviewSource};
use crate::raster::RasterInfo;
use bytes::Bytes;
use std::sync::Arc;

/// The overviews of one TIFF, largest first.
pub(super) struct TiffOverviews {
    /// The file or object the image was read from.
    src: Arc<dyn ByteSource>,
    /// Its first block as read at open (not fetched again for each overview).
    first_block: Option<Bytes>,
    limits: Limits,
    /// The first image: an overview must have its bands, sample type and layout.
    main: RasterInfo,
    sizes: Vec<Overview>,
    /// The directory index of each of `sizes`.
    ifd_index: Vec<usize>,
    /// The directory of each overview's internal mask (NewSubfileType 5, its size), read
    /// as its alpha band when the image's mask is ([`super::mask`]).
    mask_index: Vec<Option<usize>>,
}

impl TiffOverviews {
    /// The overviews among `ifds` (the header scan's directories, the image first):
    /// smaller than the image on both axes, not empty.
    pub fn new(
        src: Arc<dyn ByteSource>,
        first_block: Option<Bytes>,
        limits: &Limits,
        main: &RasterInfo,
        ifds: &[IfdSummary],
        masked: bool,
    ) -> Self {
        let mut levels: Vec<(usize, Overview)> = ifds
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, d)| d.is_overview())
            .filter_map(|(i, d)| {
                let width = u32::try_from(d.width).ok()?;
                let height = u32::try_from(d.height).ok()?;
                let smaller = width < main.width || height < main.height;
                (width > 0 && height > 0 && width <= main.width && height <= main.height && smaller)
                    .then_some((i, Overview { width, height }))
            })
            .collect();
        levels.sort_by_key(|(_, o)| std::cmp::Reverse(u64::from(o.width) * u64::from(o.height)));
        TiffOverviews {
            src,
            first_block,
            limits: limits.clone(),
            main: main.clone(),
            sizes: levels.iter().map(|(_, o)| *o).collect(),
            ifd_index: levels.iter().map(|(i, _)| *i).collect(),
            mask_index: levels
                .iter()
                .map(|(_, o)| {
                    masked
                        .then(|| super::mask::mask_ifd(ifds, (o.width, o.height), true))
                        .flatten()
                })
                .collect(),
        }
    }
}

impl TiffOverviews {
    /// Whether the file has no overviews.
    pub fn sizes_empty(&self) -> bool {
        self.sizes.is_empty()
    }
}

impl OverviewSource for TiffOverviews {
    fn sizes(&self) -> &[Overview] {
        &self.sizes
    }

    fn open(&self, level: usize) -> Result<OpenedOverview> {
        let path = self.src.name();
        let (Some(&ifd), Some(&size)) = (self.ifd_index.get(level), self.sizes.get(level)) else {
            return Err(Error::Config(format!(
                "{}: no overview {level} (it has {})",
                path.display(),
                self.sizes.len()
            )));
        };
        let mut reader = BlockReader::new(Arc::clone(&self.src));
        if let Some(first) = &self.first_block {
            reader = reader.with_first_block(first.clone());
        }
        let mut dec = decoder(reader, path, &self.limits)?;
        dec.seek_to_image(ifd)
            .map_err(|e| tiff_error(path, "reading an overview's directory", e))?;
        let nodata = self.main.mask.nodata;
        let (mut info, chunks) =
            image_parts(&mut dec, path, &self.limits, self.src.len(), &mut |_| {
                Ok(nodata)
            })?;
        let main = &self.main;
        if (info.width, info.height) != (size.width, size.height)
            || (info.bands, info.sample, info.layout) != (main.bands, main.sample, main.layout)
        {
            return Err(Error::corrupt(
                path,
                format!(
                    "overview {level} (directory {ifd}) is {}x{}, {} {:?} bands, {:?}; the image has {} {:?} bands, {:?}",
                    info.width, info.height, info.bands, info.sample, info.layout,
                    main.bands, main.sample, main.layout
                ),
            ));
        }
        // The image's masks: the nodata value is a tag of the first directory only.
        info.mask = main.mask;
        info.storage = format!("{} (overview {level})", info.storage);
        let (mask, why) = super::mask::usable_mask(
            &self.src,
            self.first_block.clone(),
            &self.limits,
            &info,
            self.mask_index.get(level).copied().flatten(),
        )?;
        if let Some(why) = why {
            // The overview is still good: read without its mask.
            log::warn!(
                "{}: overview {level}'s mask is not used: {why}",
                path.display()
            );
        }
        let limits = super::mask::image_limits(&self.limits, mask.is_some());
        let source = tiff_source(Arc::clone(&self.src), dec, info, chunks, &limits);
        let decoded = Arc::clone(&source.decoded);
        let source = super::mask::with_mask(source, mask);
        Ok(OpenedOverview {
            source,
            decoded: Some(decoded),
        })
    }
}
