//! From boxes to answers, on detections in metres: sites (clusters of objects) and the
//! change between two dates. Pure: plain detections in, plain results out; reading and
//! writing them is [`crate::output`]'s.
//!
//! Ground distances are measured in a local transverse Mercator plane centred on the data
//! (see [`sites()`] for its accuracy), so scenes at high latitudes or across the
//! antimeridian are handled like any other. Every detection needs its
//! [`Detection::lonlat_polygon`]; one without it is an error, never silently dropped.

mod by_site;
mod compare;
mod dbscan;
mod matching;
pub(crate) mod plane;
mod sites;

pub use by_site::{change_by_site, SiteChange};
pub use compare::{
    compare, DEFAULT_TOLERANCE_M, MAX_TOLERANCE_M, MIN_OFFSET_PAIRS, OFFSET_SEARCH_M,
};
pub use sites::{sites, DEFAULT_EPS_M, DEFAULT_MIN_OBJECTS, MAX_EPS_M, SITE_BUFFER_M};

use crate::detection::Detection;
use crate::error::{Error, Result};
use crate::geo::LonLat;
use std::collections::BTreeMap;

/// Every detection's WGS84 corners; an error says how many of `detections` (named `what`)
/// have none.
fn lonlat_polygons(detections: &[Detection], what: &str) -> Result<Vec<[[f64; 2]; 4]>> {
    let missing = detections
        .iter()
        .filter(|d| d.lonlat_polygon.is_none())
        .count();
    if missing > 0 {
        return Err(Error::Config(format!(
            "{missing} of the {} {what} have no WGS84 position (lonlat_polygon), so no \
             ground distance can be measured: detect on a georeferenced scene with a CRS \
             satdet can reproject",
            detections.len()
        )));
    }
    Ok(detections.iter().filter_map(|d| d.lonlat_polygon).collect())
}

/// A group of detections close together on the ground (a truck park, a work site).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// 1-based id; sites are numbered by total, largest first, and the ids are stable for
    /// the same input.
    pub id: u32,
    /// The site's outline in WGS84 `[lon, lat]`: the convex hull of its boxes, buffered by
    /// [`SITE_BUFFER_M`] (5 m); a closed ring (first point repeated last),
    /// counter-clockwise, longitudes continuous (past ±180° where the site crosses it).
    pub polygon: Vec<[f64; 2]>,
    /// The centre of the site (mean of its objects' box centres, taken in metres).
    pub center: LonLat,
    /// Objects per class name, e.g. `{"car": 18, "truck": 3}`.
    pub counts: BTreeMap<String, usize>,
    /// All objects of the site.
    pub total: usize,
    /// Mean score of its objects.
    pub mean_score: f32,
    /// Indices of the site's detections in the input slice, ascending.
    pub members: Vec<usize>,
}

/// What happened to one object between two dates.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// Only in the later set.
    Appeared,
    /// Only in the earlier set.
    Gone,
    /// In both (matched one to one).
    Stayed,
}

impl ChangeKind {
    /// `appeared`, `gone` or `stayed`, as written in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Appeared => "appeared",
            ChangeKind::Gone => "gone",
            ChangeKind::Stayed => "stayed",
        }
    }
}

/// One object of a comparison.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedObject {
    /// What happened to it.
    pub change: ChangeKind,
    /// The detection whose geometry is reported: the later one for `appeared` and
    /// `stayed`, the earlier one for `gone`.
    pub detection: Detection,
    /// Index in the earlier set (`gone`, `stayed`).
    pub before: Option<usize>,
    /// Index in the later set (`appeared`, `stayed`).
    pub after: Option<usize>,
    /// For `stayed`: ground distance in metres between the two centres after removing
    /// the global offset.
    pub distance_m: Option<f64>,
}

/// The change between two detection sets of the same place.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The global offset of the later set relative to the earlier one, in metres
    /// (east, north), estimated from mutual nearest neighbours of the same class.
    pub offset_m: [f64; 2],
    /// How many pairs the offset was estimated from (0: no offset could be estimated
    /// and none was applied).
    pub offset_pairs: usize,
    /// The matching tolerance in metres.
    pub tolerance_m: f64,
    /// Every object of both sets, once: the later set's as `appeared` or `stayed`, in its
    /// order, then the earlier set's unmatched as `gone`, in its order.
    pub objects: Vec<ChangedObject>,
    /// Objects per class name and change.
    pub counts: BTreeMap<String, BTreeMap<ChangeKind, usize>>,
}
