//! Detections, sites and a change built by hand (no model runs), shared by the output
//! format tests.

#![allow(dead_code)] // each test crate uses its part

use satdet::analysis::{Change, ChangeKind, ChangedObject, Site};
use satdet::{Crs, Detection, Detections, LonLat, PixelBox};
use std::collections::BTreeMap;
use std::path::Path;

pub const FORMATS: [&str; 6] = ["geojson", "kml", "kmz", "csv", "gpkg", "fgb"];

/// A north-up box around (lon, lat), corners TL, TR, BR, BL as the pipeline gives them.
pub fn lonlat_box(lon: f64, lat: f64) -> [[f64; 2]; 4] {
    let (dx, dy) = (0.000_031_7, 0.000_022_9);
    [
        [lon - dx, lat + dy],
        [lon + dx, lat + dy],
        [lon + dx, lat - dy],
        [lon - dx, lat - dy],
    ]
}

pub fn det(class_id: u32, class: &str, score: f32, i: f64) -> Detection {
    let (x, y) = (100.0 + 17.5 * i, 40.25 + 9.0 * i);
    let (mx, my) = (500_000.0 + 0.5 * x, 4_430_000.0 - 0.5 * y);
    Detection {
        class_id,
        class_name: class.into(),
        score,
        pixel_box: PixelBox::new(x, y, x + 12.0, y + 6.5),
        oriented: None,
        map_polygon: Some([
            [mx, my],
            [mx + 6.0, my],
            [mx + 6.0, my - 3.25],
            [mx, my - 3.25],
        ]),
        lonlat_polygon: Some(lonlat_box(
            124.401_234_567_8 + 0.0001 * i,
            40.1 - 0.0001 * i,
        )),
    }
}

pub fn detections() -> Detections {
    Detections {
        items: vec![
            det(0, "car", 0.87, 0.0),
            det(1, "truck", 0.756_789_1, 1.0),
            det(0, "car", 0.61, 2.0),
            det(2, "excavator", 0.5, 3.0),
        ],
        scene: "/data/yalu_2025-09-13.tif".into(),
        crs: Some(Crs::Epsg(32651)),
        acquired: Some("2025-09-13".into()),
        report: satdet::Report {
            model: "/models/vehicles & co.onnx".into(),
            confidence: 0.25,
            iou: 0.45,
            ..Default::default()
        },
    }
}

pub fn sites() -> Vec<Site> {
    let ring = |lon: f64, lat: f64| {
        let b = lonlat_box(lon, lat);
        vec![b[3], b[2], b[1], b[0], b[3]]
    };
    vec![
        Site {
            id: 1,
            polygon: ring(124.40, 40.10),
            center: LonLat {
                lon: 124.40,
                lat: 40.10,
            },
            counts: BTreeMap::from([("car".into(), 18), ("truck".into(), 3)]),
            total: 21,
            mean_score: 0.7,
            members: (0..21).collect(),
        },
        Site {
            id: 2,
            polygon: ring(124.42, 40.12),
            center: LonLat {
                lon: 124.42,
                lat: 40.12,
            },
            counts: BTreeMap::from([("excavator".into(), 3)]),
            total: 3,
            mean_score: 0.55,
            members: vec![21, 22, 23],
        },
    ]
}

pub fn change() -> Change {
    let d = detections();
    let obj = |change, i: usize, before, after, distance_m| ChangedObject {
        change,
        detection: d.items[i].clone(),
        before,
        after,
        distance_m,
    };
    Change {
        offset_m: [2.5, -1.25],
        offset_pairs: 7,
        tolerance_m: 5.0,
        objects: vec![
            obj(ChangeKind::Stayed, 0, Some(0), Some(0), Some(0.4)),
            obj(ChangeKind::Gone, 1, Some(1), None, None),
            obj(ChangeKind::Appeared, 3, None, Some(2), None),
        ],
        counts: BTreeMap::new(),
    }
}

pub fn assert_same(path: &Path, a: &Detections, b: &Detections) {
    assert_eq!(a.items.len(), b.items.len(), "{}", path.display());
    for (x, y) in a.items.iter().zip(&b.items) {
        let at = format!("{}: {x:?} vs {y:?}", path.display());
        assert_eq!(x.class_name, y.class_name, "{at}");
        assert_eq!(x.class_id, y.class_id, "{at}");
        assert_eq!(x.score, y.score, "{at}");
        assert_eq!(x.pixel_box, y.pixel_box, "{at}");
        assert_eq!(x.map_polygon, y.map_polygon, "{at}");
        let (p, q) = (
            x.lonlat_polygon.expect("lonlat"),
            y.lonlat_polygon.expect("lonlat"),
        );
        for (u, v) in p.iter().flatten().zip(q.iter().flatten()) {
            assert!((u - v).abs() < 1e-9, "{at}");
        }
    }
    assert_eq!(a.scene, b.scene, "{}", path.display());
    assert_eq!(a.crs, b.crs, "{}", path.display());
    assert_eq!(a.acquired, b.acquired, "{}", path.display());
    assert_eq!(a.report.model, b.report.model, "{}", path.display());
    assert_eq!(a.report.confidence, b.report.confidence);
    assert_eq!(a.report.iou, b.report.iou);
}
