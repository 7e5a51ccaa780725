//! An area of interest: the polygons and lines a user wants searched, buffered in metres,
//! placed on a scene's pixels so that only the tiles meeting it are read.
//!
//! Geometry is held in a local Lambert azimuthal equal-area projection (WGS84 ellipsoid)
//! centred on the middle of the area's lon/lat bounds, in metres. It is equal-area, so
//! [`Aoi::area_km2`] is exact up to floating point; lengths (so buffer distances) are off
//! by a scale factor between cos(c/2) and 1/cos(c/2), c the angular distance from the
//! centre: at most 3.1e-5 within 100 km of the centre (3 mm on a 100 m buffer), 7.7e-4
//! within 500 km.
//!
//! Input edges are taken as straight in that projection; on a scene they are densified to
//! 1 km before reprojection, so they bow by far less than a pixel. An area crossing the
//! antimeridian must keep its longitudes continuous (179° to 181°), not jump to −179°.

mod build;
mod pixel;
pub(crate) mod project;
mod read_geojson;
mod read_kml;

pub(crate) use pixel::PixelArea;

use crate::error::{Error, Result};
use crate::geo::{GeoRef, LonLat, MapPoint};
use geo::algorithm::buffer::{BufferStyle, LineCap, LineJoin};
use geo::{Area, BooleanOps, Buffer, Contains, MultiLineString, MultiPolygon};
use project::{Reproject, WGS84};
use std::path::{Path, PathBuf};

/// Largest area-of-interest file read, in bytes.
pub const MAX_AOI_BYTES: u64 = 64 << 20;
/// Most vertices read from an area-of-interest file.
pub const MAX_AOI_VERTICES: usize = 500_000;

/// The largest buffer, metres: the local projection the buffer is drawn in keeps lengths
/// to 7.7e-4 within 500 km of its centre, and beyond that "around this area" stops being
/// local (a larger buffer is an error, not a silently distorted or empty area).
pub const MAX_AOI_BUFFER_M: f64 = 100_000.0;
/// Longest edge, in metres, of the area as reprojected onto a scene: an edge straight in
/// the local projection bows by far under a pixel over 1 km in a UTM or lon/lat scene.
const DENSIFY_M: f64 = 1000.0;
/// Angle step of the round joins and caps of a buffer, in radians (`i_overlay`'s
/// smallest): each arc is a chain of chords whose sag is r·(1 − cos(step/2)) ≤ 1.3e-4·r,
/// 6 cm on a 500 m buffer.
const ARC_STEP_RAD: f64 = 0.01 * std::f64::consts::PI;

/// A geometry as read from a file, in the file's CRS.
#[derive(Debug)]
pub(crate) enum Shape {
    /// Rings, the exterior first; closing the rings is not required.
    Polygon(Vec<Vec<[f64; 2]>>),
    /// A line string.
    Line(Vec<[f64; 2]>),
}

/// One geometry and the feature (GeoJSON feature, KML Placemark) it came from.
#[derive(Debug)]
pub(crate) struct Part {
    pub feature: usize,
    pub shape: Shape,
}

/// What a reader found.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub crs: crate::geo::Crs,
    pub parts: Vec<Part>,
}

/// An area of interest: polygons (with holes) and lines, in metres in a local
/// equal-area projection (see the [module docs](self) for its distortion), with an
/// optional buffer. Lines are an area only once buffered ([`Aoi::buffer_m`]).
///
/// ```
/// use satdet::geo::Aoi;
/// # fn main() -> satdet::Result<()> {
/// // A river centre line, 1 km along the equator, as a 200 m wide corridor.
/// let line = r#"{"type": "LineString", "coordinates": [[10.0, 0.0], [10.008983, 0.0]]}"#;
/// let aoi = Aoi::from_geojson_str(line, "river.geojson")?;
/// assert!(aoi.area_km2().is_err(), "a line alone has no area");
/// let corridor = aoi.buffer_m(100.0)?;
/// // 1 km × 200 m, plus two half-disc ends of 100 m radius.
/// let want = 0.2 + std::f64::consts::PI * 0.01;
/// assert!((corridor.area_km2()? - want).abs() < 1e-3 * want);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Aoi {
    name: PathBuf,
    centre: LonLat,
    /// PROJ definition of the local projection.
    local: String,
    polygons: MultiPolygon<f64>,
    lines: MultiLineString<f64>,
    buffer_m: f64,
    /// The searched area, in local metres; `None` while lines wait for a buffer.
    area: Option<MultiPolygon<f64>>,
}

fn aoi_err(path: &Path, feature: Option<usize>, detail: impl Into<String>) -> Error {
    Error::Aoi {
        path: path.to_path_buf(),
        feature,
        detail: detail.into(),
    }
}

impl Aoi {
    /// Reads an area of interest from a GeoJSON (`.geojson`, `.json`) or KML (`.kml`)
    /// file; another extension is recognised by its first character (`{` or `<`).
    /// GeoJSON may be a geometry, a Feature or a FeatureCollection, in WGS84 unless it
    /// has a `crs` member naming an EPSG code or OGC URN; KML is always WGS84. Polygons,
    /// multipolygons, lines and multilines are read (points are an error); features
    /// without geometry are passed over.
    ///
    /// Errors ([`Error::Aoi`], naming the file and, where one is at fault, the feature):
    /// not GeoJSON/KML, nothing in it, a point, an invalid or self-intersecting ring, a
    /// CRS satdet cannot reproject, a position that is not a longitude/latitude. A file
    /// over [`MAX_AOI_BYTES`] or [`MAX_AOI_VERTICES`] is an [`Error::Limits`].
    ///
    /// ```
    /// # fn main() -> satdet::Result<()> {
    /// # let dir = tempfile::tempdir().map_err(|e| satdet::Error::Config(e.to_string()))?;
    /// # let path = dir.path().join("site.kml");
    /// let kml = r#"<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Polygon>
    ///   <outerBoundaryIs><LinearRing><coordinates>
    ///     124.30,40.00 124.31,40.00 124.31,40.01 124.30,40.01 124.30,40.00
    ///   </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>"#;
    /// # std::fs::write(&path, kml).map_err(|e| satdet::Error::Config(e.to_string()))?;
    /// let aoi = satdet::geo::Aoi::from_file(&path)?;
    /// // About 0.85 km × 1.11 km at 40° N.
    /// assert!((aoi.area_km2()? - 0.948).abs() < 0.01);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Aoi> {
        let path = path.as_ref();
        let len = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        crate::limits::Limits::check(
            || path.display().to_string(),
            "area-of-interest file bytes (geo::aoi::MAX_AOI_BYTES)",
            len,
            MAX_AOI_BYTES,
        )?;
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| aoi_err(path, None, "not UTF-8 text (GeoJSON or KML)"))?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("kml") => Aoi::from_kml_str(&text, path),
            Some("geojson" | "json") => Aoi::from_geojson_str(&text, path),
            Some("kmz") => Err(aoi_err(
                path,
                None,
                "KMZ is not read: unzip it and give its doc.kml",
            )),
            _ if text.trim_start().starts_with('<') => Aoi::from_kml_str(&text, path),
            _ => Aoi::from_geojson_str(&text, path),
        }
    }

    /// An area of interest from GeoJSON text (as [`Aoi::from_file`]); `name` stands for
    /// the file in errors.
    ///
    /// ```
    /// # fn main() -> satdet::Result<()> {
    /// // 1 km × 1 km in UTM 33N, with the 2008 draft's `crs` member.
    /// let text = r#"{"type": "Polygon",
    ///   "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
    ///   "coordinates": [[[500000, 4500000], [501000, 4500000], [501000, 4501000],
    ///                    [500000, 4501000], [500000, 4500000]]]}"#;
    /// let aoi = satdet::geo::Aoi::from_geojson_str(text, "square")?;
    /// // UTM's scale factor is 0.9996 on its central meridian: 1 km of UTM is 1.0004 km.
    /// assert!((aoi.area_km2()? - 1.0008).abs() < 1e-3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_geojson_str(text: &str, name: impl Into<PathBuf>) -> Result<Aoi> {
        let name = name.into();
        let parsed = read_geojson::parse(text, &name)?;
        Aoi::build(parsed, name)
    }

    /// An area of interest from KML text (as [`Aoi::from_file`]); `name` stands for the
    /// file in errors.
    ///
    /// ```
    /// let kml = "<kml><Placemark><Point><coordinates>1,2</coordinates></Point></Placemark></kml>";
    /// let e = satdet::geo::Aoi::from_kml_str(kml, "pin.kml").unwrap_err();
    /// assert!(e.to_string().contains("pin.kml") && e.to_string().contains("feature 0"));
    /// ```
    pub fn from_kml_str(text: &str, name: impl Into<PathBuf>) -> Result<Aoi> {
        let name = name.into();
        let parsed = read_kml::parse(text, &name)?;
        Aoi::build(parsed, name)
    }

    fn build(parsed: Parsed, name: PathBuf) -> Result<Aoi> {
        build::build(parsed, name)
    }

    /// The area grown by `metres` (≥ 0) around every polygon and line, with round joins
    /// and ends (chords of at most 1.8°, see the module docs for the scale error).
    /// Replaces any earlier buffer: `aoi.buffer_m(100.0)?.buffer_m(50.0)?` is 50 m. A
    /// line needs a buffer above 0 m to be an area.
    ///
    /// ```
    /// # fn main() -> satdet::Result<()> {
    /// let square = r#"{"type": "Polygon", "coordinates":
    ///   [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}"#;
    /// let aoi = satdet::geo::Aoi::from_geojson_str(square, "sq")?;
    /// let grown = aoi.clone().buffer_m(50.0)?;
    /// assert!(grown.area_km2()? > aoi.area_km2()?);
    /// assert!(aoi.clone().buffer_m(-1.0).is_err());
    /// assert!(aoi.clone().buffer_m(satdet::geo::aoi::MAX_AOI_BUFFER_M).is_ok());
    /// assert!(aoi.buffer_m(1e12).is_err()); // not an empty or distorted area
    /// # Ok(())
    /// # }
    /// ```
    pub fn buffer_m(mut self, metres: f64) -> Result<Aoi> {
        if !(metres.is_finite() && (0.0..=MAX_AOI_BUFFER_M).contains(&metres)) {
            return Err(aoi_err(
                &self.name,
                None,
                format!(
                    "buffer {metres} m: it must be a number of metres from 0 to {MAX_AOI_BUFFER_M}"
                ),
            ));
        }
        if metres == 0.0 {
            if !self.lines.0.is_empty() {
                return Err(self.line_needs_buffer());
            }
            self.area = Some(self.polygons.clone());
        } else {
            let style = || {
                BufferStyle::new(metres)
                    .line_join(LineJoin::Round(ARC_STEP_RAD))
                    .line_cap(LineCap::Round(ARC_STEP_RAD))
            };
            let mut area = self.polygons.buffer_with_style(style());
            if !self.lines.0.is_empty() {
                area = area.union(&self.lines.buffer_with_style(style()));
            }
            self.area = Some(area);
        }
        self.buffer_m = metres;
        Ok(self)
    }

    fn line_needs_buffer(&self) -> Error {
        aoi_err(
            &self.name,
            None,
            format!(
                "it has {} line(s), which are an area only with a buffer above 0 m (Aoi::buffer_m, the command line's --aoi-buffer METRES)",
                self.lines.0.len()
            ),
        )
    }

    /// The searched area in local metres; an error while lines wait for a buffer.
    pub(crate) fn area(&self) -> Result<&MultiPolygon<f64>> {
        self.area.as_ref().ok_or_else(|| self.line_needs_buffer())
    }

    /// The area searched, buffer included, in km² (computed in the local equal-area
    /// projection); an error for lines without a buffer.
    ///
    /// ```
    /// let line = r#"{"type": "LineString", "coordinates": [[0, 0], [0.01, 0]]}"#;
    /// let aoi = satdet::geo::Aoi::from_geojson_str(line, "l").expect("a line");
    /// assert!(aoi.area_km2().is_err());
    /// ```
    pub fn area_km2(&self) -> Result<f64> {
        Ok(self.area()?.unsigned_area() / 1e6)
    }

    /// The buffer distance applied, in metres (0 when none).
    ///
    /// ```
    /// let line = r#"{"type": "LineString", "coordinates": [[0, 0], [0.01, 0]]}"#;
    /// let aoi = satdet::geo::Aoi::from_geojson_str(line, "l").expect("a line");
    /// assert_eq!(aoi.buffer_m(25.0).expect("buffered").buffer_distance_m(), 25.0);
    /// ```
    pub fn buffer_distance_m(&self) -> f64 {
        self.buffer_m
    }

    /// The file (or the name given to in-memory text).
    ///
    /// ```
    /// let line = r#"{"type": "LineString", "coordinates": [[0, 0], [0.01, 0]]}"#;
    /// let aoi = satdet::geo::Aoi::from_geojson_str(line, "river.geojson").expect("a line");
    /// assert_eq!(aoi.name(), std::path::Path::new("river.geojson"));
    /// ```
    pub fn name(&self) -> &Path {
        &self.name
    }

    /// The centre of the local projection: the middle of the input's lon/lat bounds.
    ///
    /// ```
    /// let line = r#"{"type": "LineString", "coordinates": [[10, 40], [10.2, 40.1]]}"#;
    /// let aoi = satdet::geo::Aoi::from_geojson_str(line, "l").expect("a line");
    /// assert!((aoi.centre().lon - 10.1).abs() < 1e-12 && (aoi.centre().lat - 40.05).abs() < 1e-12);
    /// ```
    pub fn centre(&self) -> LonLat {
        self.centre
    }

    /// The area placed on a scene: densified in local metres, reprojected to the
    /// scene's CRS, then to its pixels. `scene` names the scene in errors.
    pub(crate) fn on_scene(&self, georef: Option<&GeoRef>, scene: &Path) -> Result<PixelArea> {
        let area = self.area()?;
        let no_place = |why: String| Error::Georef {
            path: scene.to_path_buf(),
            detail: format!(
                "{why}, so the area of interest {} cannot be placed on it",
                self.name.display()
            ),
        };
        let g = georef.ok_or_else(|| no_place("the scene has no georeferencing".into()))?;
        let def = g.crs.proj4().ok_or_else(|| {
            no_place(format!("the scene's CRS ({}) cannot be reprojected", g.crs))
        })?;
        let to_scene = Reproject::new(
            &self.local,
            def,
            format!("the scene's {}", g.crs),
            &self.name,
        )?;
        let to_pixels = |p: [f64; 2]| -> Result<[f64; 2]> {
            let m = to_scene.point(p).ok_or_else(|| {
                let what = to_scene.what();
                aoi_err(
                    &self.name,
                    None,
                    format!("a point of the area has no position in {what}"),
                )
            })?;
            let px = g.transform.map_to_pixel(MapPoint { x: m[0], y: m[1] });
            let px =
                px.ok_or_else(|| no_place("the scene's transform cannot be inverted".into()))?;
            Ok([px.x, px.y])
        };
        let rings: Vec<Vec<[f64; 2]>> = densified_rings(area, to_pixels)?
            .into_iter()
            .flatten()
            .collect();
        Ok(PixelArea::new(&rings))
    }

    /// The area (buffer included) in WGS84 `[lon, lat]` degrees: per polygon its rings,
    /// the exterior first, each closed, with edges of at most 1 km (so that drawing them
    /// straight in lon/lat stays within centimetres of the area). For drawing the area on
    /// a map or writing it out. An error for lines without a buffer.
    ///
    /// ```
    /// let line = r#"{"type": "LineString", "coordinates": [[10, 40], [10.01, 40]]}"#;
    /// let aoi = satdet::Aoi::from_geojson_str(line, "l")?.buffer_m(100.0)?;
    /// let polygons = aoi.lonlat_polygons()?;
    /// assert_eq!(polygons.len(), 1);
    /// let exterior = &polygons[0][0];
    /// assert_eq!(exterior.first(), exterior.last());
    /// assert!(exterior.iter().all(|p| (9.99..10.02).contains(&p[0]) && (39.99..40.01).contains(&p[1])));
    /// # Ok::<(), satdet::Error>(())
    /// ```
    pub fn lonlat_polygons(&self) -> Result<Vec<Vec<Vec<[f64; 2]>>>> {
        let to_wgs84 = Reproject::new(&self.local, WGS84, "WGS84".into(), &self.name)?;
        let mut polygons = densified_rings(self.area()?, |p| {
            to_wgs84.point(p).ok_or_else(|| {
                aoi_err(
                    &self.name,
                    None,
                    "a point of the area has no WGS84 position",
                )
            })
        })?;
        for ring in polygons.iter_mut().flatten() {
            if let Some(&first) = ring.first() {
                ring.push(first);
            }
        }
        Ok(polygons)
    }

    /// Whether a WGS84 position lies inside the area (buffer included): e.g. to keep the
    /// detections of an earlier run that fall in it. An error for lines without a buffer.
    ///
    /// ```
    /// use satdet::LonLat;
    /// let square = r#"{"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}"#;
    /// let aoi = satdet::Aoi::from_geojson_str(square, "sq")?;
    /// assert!(aoi.contains_lonlat(LonLat { lon: 0.005, lat: 0.005 })?);
    /// assert!(!aoi.contains_lonlat(LonLat { lon: 0.02, lat: 0.005 })?);
    /// # Ok::<(), satdet::Error>(())
    /// ```
    pub fn contains_lonlat(&self, p: LonLat) -> Result<bool> {
        let area = self.area()?;
        let to_local = Reproject::new(
            WGS84,
            &self.local,
            "the local projection".into(),
            &self.name,
        )?;
        Ok(to_local
            .point([p.lon, p.lat])
            .is_some_and(|q| area.contains(&geo::Point::new(q[0], q[1]))))
    }
}

/// Every ring of `area` (per polygon, the exterior first), densified to edges of at most
/// [`DENSIFY_M`] in local metres and mapped through `f`; rings are left open.
fn densified_rings(
    area: &MultiPolygon<f64>,
    f: impl Fn([f64; 2]) -> Result<[f64; 2]>,
) -> Result<Vec<Vec<Vec<[f64; 2]>>>> {
    let mut polygons = Vec::with_capacity(area.0.len());
    for poly in &area.0 {
        let mut rings = Vec::new();
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            let mut out = Vec::with_capacity(ring.0.len());
            for seg in ring.lines() {
                let n = (seg.dx().hypot(seg.dy()) / DENSIFY_M).ceil().max(1.0) as usize;
                for k in 0..n {
                    let t = k as f64 / n as f64;
                    out.push(f([seg.start.x + t * seg.dx(), seg.start.y + t * seg.dy()])?);
                }
            }
            rings.push(out);
        }
        polygons.push(rings);
    }
    Ok(polygons)
}
