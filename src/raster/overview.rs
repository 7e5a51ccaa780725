//! Reduced-resolution copies of a scene stored in its file (a GeoTIFF's overviews, as
//! `gdaladdo` and GDAL's COG driver write them): what they are, and the protocol by
//! which a reader opens one as a [`super::Scene`] of its own.

use super::WindowSource;
use crate::error::Result;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// One overview of a scene: a reduced-resolution copy of the whole scene stored in its
/// file. See [`super::Scene::overviews`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overview {
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

/// An overview opened: its pixels, and its count of decoded chunks if it keeps one.
pub(super) struct OpenedOverview {
    pub source: Box<dyn WindowSource>,
    pub decoded: Option<Arc<AtomicU64>>,
}

/// The overviews a reader found in a file: listed at open, each opened on demand.
pub(super) trait OverviewSource: Send + Sync {
    /// Largest first.
    fn sizes(&self) -> &[Overview];
    /// Opens overview `level` (an index into [`OverviewSource::sizes`]).
    fn open(&self, level: usize) -> Result<OpenedOverview>;
}
