//! Georeferencing: pixel ↔ map affine transforms, coordinate reference systems and
//! reprojection to WGS84. Pure: no files, no devices.
//!
//! Coordinate spaces each have their own type: [`PixelBox`] (scene pixels, continuous,
//! (0, 0) the top-left corner of the top-left pixel), [`MapPoint`] (the scene's CRS) and
//! [`LonLat`] (WGS84 degrees). An [`Aoi`] (area of interest: polygons and buffered lines
//! from GeoJSON or KML, held in metres) is placed on a scene's pixels to choose its tiles.

pub mod aoi;
mod crs;
mod gsd;
mod oriented;
mod prj;
mod proj_parts;
mod transform;
mod wkt_proj;
mod world_file;

pub(crate) use prj::parse_prj;
pub(crate) use proj_parts::{geographic_datum, oblique_mercator, polar_stereographic};
pub(crate) use world_file::{
    crs_from_prj, crs_without_prj, parse_world_file, world_file_extensions,
};

pub use aoi::Aoi;
pub(crate) use aoi::PixelArea;
pub use crs::{Crs, ToWgs84};
pub use gsd::{ground_distance_m, gsd_from_pixel_size_m, gsd_m};
pub use oriented::OrientedBox;
pub(crate) use oriented::{quad_area, quad_intersection_area};
pub use transform::{GeoTransform, RasterType};

/// `[min x, min y, max x, max y]` of `points` in any plane; infinite (min above max) for
/// none.
pub(crate) fn bounds(points: impl IntoIterator<Item = [f64; 2]>) -> [f64; 4] {
    points.into_iter().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |b, p| {
            [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ]
        },
    )
}

/// A point in continuous scene-pixel coordinates (column, row).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelPoint {
    /// Column, pixels from the left edge.
    pub x: f64,
    /// Row, pixels from the top edge.
    pub y: f64,
}

/// A point in the scene's map CRS (easting/northing, or lon/lat for a geographic CRS).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapPoint {
    /// Easting (or longitude).
    pub x: f64,
    /// Northing (or latitude).
    pub y: f64,
}

/// A WGS84 longitude/latitude in degrees.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    /// Degrees east.
    pub lon: f64,
    /// Degrees north.
    pub lat: f64,
}

/// The largest |longitude| accepted: a scene crossing the antimeridian may run past 180°
/// (GeoJSON viewers wrap it), but not around the Earth more than once and a half.
pub const MAX_ABS_LON: f64 = 540.0;

impl LonLat {
    /// Finite, |lat| ≤ 90 and |lon| ≤ [`MAX_ABS_LON`].
    pub fn is_valid(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && self.lat.abs() <= 90.0
            && self.lon.abs() <= MAX_ABS_LON
    }
}

/// An axis-aligned box in scene pixels, `x0 <= x1`, `y0 <= y1` (kept by the constructor).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(from = "[f64; 4]", into = "[f64; 4]"))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelBox {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl PixelBox {
    /// A box from two corners in any order.
    pub fn new(xa: f64, ya: f64, xb: f64, yb: f64) -> Self {
        PixelBox {
            x0: xa.min(xb),
            y0: ya.min(yb),
            x1: xa.max(xb),
            y1: ya.max(yb),
        }
    }
    /// Left edge.
    pub fn x0(&self) -> f64 {
        self.x0
    }
    /// Top edge.
    pub fn y0(&self) -> f64 {
        self.y0
    }
    /// Right edge.
    pub fn x1(&self) -> f64 {
        self.x1
    }
    /// Bottom edge.
    pub fn y1(&self) -> f64 {
        self.y1
    }
    /// Width in pixels.
    pub fn width(&self) -> f64 {
        self.x1 - self.x0
    }
    /// Height in pixels.
    pub fn height(&self) -> f64 {
        self.y1 - self.y0
    }
    /// Area in square pixels.
    pub fn area(&self) -> f64 {
        self.width() * self.height()
    }
    /// The centre.
    pub fn center(&self) -> PixelPoint {
        PixelPoint {
            x: 0.5 * (self.x0 + self.x1),
            y: 0.5 * (self.y0 + self.y1),
        }
    }
    /// `[x0, y0, x1, y1]`.
    pub fn to_array(&self) -> [f64; 4] {
        [self.x0, self.y0, self.x1, self.y1]
    }
    /// The four corners clockwise from the top-left: TL, TR, BR, BL.
    pub fn corners(&self) -> [PixelPoint; 4] {
        [
            PixelPoint {
                x: self.x0,
                y: self.y0,
            },
            PixelPoint {
                x: self.x1,
                y: self.y0,
            },
            PixelPoint {
                x: self.x1,
                y: self.y1,
            },
            PixelPoint {
                x: self.x0,
                y: self.y1,
            },
        ]
    }
    /// Area of the intersection with `other` (0 when disjoint).
    pub fn intersection_area(&self, other: &PixelBox) -> f64 {
        let w = self.x1.min(other.x1) - self.x0.max(other.x0);
        let h = self.y1.min(other.y1) - self.y0.max(other.y0);
        if w <= 0.0 || h <= 0.0 {
            0.0
        } else {
            w * h
        }
    }
    /// Whether the two boxes share some area (touching edges do not).
    pub fn intersects(&self, other: &PixelBox) -> bool {
        self.x1.min(other.x1) > self.x0.max(other.x0)
            && self.y1.min(other.y1) > self.y0.max(other.y0)
    }
    /// Intersection over union.
    pub fn iou(&self, other: &PixelBox) -> f64 {
        iou_of(self.intersection_area(other), self.area(), other.area())
    }
    /// Intersection over the smaller box's area: 1 when one box lies inside the other.
    pub fn ios(&self, other: &PixelBox) -> f64 {
        ios_of(self.intersection_area(other), self.area(), other.area())
    }
}

/// Intersection over union of two shapes of areas `a` and `b` sharing `inter`: 0 when
/// the union has no area, at most 1.
pub(crate) fn iou_of(inter: f64, a: f64, b: f64) -> f64 {
    ratio(inter, a + b - inter)
}

/// Intersection over the smaller of two shapes of areas `a` and `b` sharing `inter`: 0
/// when the smaller has no area, at most 1.
pub(crate) fn ios_of(inter: f64, a: f64, b: f64) -> f64 {
    ratio(inter, a.min(b))
}

fn ratio(inter: f64, den: f64) -> f64 {
    if den <= 0.0 {
        0.0
    } else {
        (inter / den).min(1.0)
    }
}

impl From<[f64; 4]> for PixelBox {
    /// `[x0, y0, x1, y1]`, corners in any order (as [`PixelBox::new`]).
    fn from(v: [f64; 4]) -> Self {
        PixelBox::new(v[0], v[1], v[2], v[3])
    }
}

impl From<PixelBox> for [f64; 4] {
    fn from(b: PixelBox) -> Self {
        b.to_array()
    }
}

/// Georeferencing of a scene: where its pixels are on Earth.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq)]
pub struct GeoRef {
    /// Pixel → map transform (PixelIsPoint already converted to the area convention).
    pub transform: GeoTransform,
    /// The map CRS.
    pub crs: Crs,
}

impl GeoRef {
    /// The four corners of a pixel box in the map CRS (TL, TR, BR, BL). A rotated raster
    /// gives a rotated polygon.
    pub fn map_polygon(&self, b: &PixelBox) -> [[f64; 2]; 4] {
        self.map_ring(b.corners())
    }

    /// Four pixel points (a footprint's corners, e.g. [`OrientedBox::corners`]) in the map
    /// CRS, in the same order.
    pub fn map_ring(&self, corners: [PixelPoint; 4]) -> [[f64; 2]; 4] {
        corners.map(|c| {
            let m = self.transform.pixel_to_map(c);
            [m.x, m.y]
        })
    }

    /// Ground sample distance in map units per pixel along columns and rows.
    pub fn pixel_size(&self) -> (f64, f64) {
        let t = &self.transform;
        (
            t.x_per_col.hypot(t.y_per_col),
            t.x_per_row.hypot(t.y_per_row),
        )
    }
}
