//! Helpers shared by `tests/aoi.rs` and `tests/aoi_run.rs` (included with `#[path]`).
#![allow(dead_code)]

use satdet::geo::{MapPoint, ToWgs84};
use satdet::raster::{
    BandLayout, MaskSpec, RasterInfo, SampleType, SamplesMut, TileBuf, Window, WindowSource,
};
use satdet::{Crs, Detector, Error};
use std::sync::atomic::{AtomicUsize, Ordering};

/// UTM 33N's scale factor on its central meridian: 1 m of UTM map is 1/0.9996 m of ground.
pub const K0: f64 = 0.9996;

pub fn ring_json(r: &[[f64; 2]]) -> String {
    let pts: Vec<String> = r.iter().map(|p| format!("[{}, {}]", p[0], p[1])).collect();
    format!("[{}]", pts.join(", "))
}

/// A GeoJSON polygon (rings as given) in UTM 33N, with the old-style `crs` member.
pub fn utm_polygon(rings: &[Vec<[f64; 2]>]) -> String {
    let rs: Vec<String> = rings.iter().map(|r| ring_json(r)).collect();
    format!(
        r#"{{"type": "Polygon", "crs": {{"type": "name", "properties": {{"name": "urn:ogc:def:crs:EPSG::32633"}}}}, "coordinates": [{}]}}"#,
        rs.join(", ")
    )
}

pub fn square(x: f64, y: f64, side: f64) -> Vec<[f64; 2]> {
    vec![
        [x, y],
        [x + side, y],
        [x + side, y + side],
        [x, y + side],
        [x, y],
    ]
}

pub fn lonlat(x: f64, y: f64) -> [f64; 2] {
    let t = ToWgs84::new(&Crs::Epsg(32633)).expect("33N");
    let ll = t.point(MapPoint { x, y }).expect("lon/lat");
    [ll.lon, ll.lat]
}

pub fn assert_aoi_error(e: Error, feature: Option<usize>, needle: &str) {
    match &e {
        Error::Aoi { feature: f, .. } => assert_eq!(*f, feature, "{e}"),
        other => panic!("want Error::Aoi, got {other:?}"),
    }
    assert!(e.to_string().contains(needle), "`{needle}` not in: {e}");
}

pub fn detector() -> satdet::DetectorBuilder {
    Detector::builder()
        .model(crate::common::fixture("square_detector.onnx"))
        .threads(1)
}

/// A dark raster of any size, counting reads (no pixel is needed to plan).
pub struct Dark {
    pub info: RasterInfo,
    pub reads: AtomicUsize,
}

impl WindowSource for Dark {
    fn info(&self) -> &RasterInfo {
        &self.info
    }
    fn read_window(&self, _window: Window, buf: &mut TileBuf) -> satdet::Result<()> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        if let SamplesMut::U8(s) = buf.samples_mut() {
            s.fill(40);
        }
        Ok(())
    }
}

impl Dark {
    /// A dark 8-bit RGB raster of `width` × `height`.
    pub fn new(width: u32, height: u32) -> Self {
        Dark {
            info: RasterInfo {
                width,
                height,
                bands: 3,
                sample: SampleType::U8,
                layout: BandLayout::Interleaved,
                mask: MaskSpec {
                    alpha_band: None,
                    nodata: None,
                },
                storage: "dark, computed".into(),
            },
            reads: AtomicUsize::new(0),
        }
    }
}
