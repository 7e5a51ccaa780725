//! The analyst's workflow on two synthetic dates whose true answer is known
//! (`make_fixtures.py`, `dates_objects`): detections, sites, change between the dates.

mod common;

use satdet::{Detections, Detector, Scene};

fn detect(name: &str) -> Detections {
    let detector = Detector::builder()
        .model(common::fixture("two_class_detector.onnx"))
        .build()
        .expect("detector");
    detector
        .detect(&Scene::open(common::fixture(name)).expect("open"))
        .expect("detect")
}

/// The fixture's objects of one date as (class, pixel centre x, y).
fn truth(name: &str) -> Vec<(String, f64, f64)> {
    let m = common::manifest();
    m["dates"]["objects"][name]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            (
                o[0].as_str().expect("class").to_owned(),
                o[1].as_f64().expect("x"),
                o[2].as_f64().expect("y"),
            )
        })
        .collect()
}

#[test]
fn each_date_finds_exactly_its_objects() {
    let shift = [4.0, 3.0]; // DATES_SHIFT_PX
    for (name, s) in [("date1.tif", [0.0, 0.0]), ("date2.tif", shift)] {
        let dets = detect(name);
        let mut want = truth(name);
        assert_eq!(dets.len(), want.len(), "{name}");
        for d in &dets {
            let [x0, y0, x1, y1] = d.pixel_box.to_array();
            let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
            let i = want
                .iter()
                .position(|(c, x, y)| {
                    c.as_str() == &*d.class_name
                        && (x + s[0] - cx).abs() < 1.0
                        && (y + s[1] - cy).abs() < 1.0
                })
                .unwrap_or_else(|| panic!("{name}: unexpected {} at {cx}, {cy}", d.class_name));
            want.swap_remove(i);
        }
        assert!(want.is_empty(), "{name}: missed {want:?}");
    }
}
