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

/// The change counts per class and kind are the fixture's true ones.
fn assert_true_change(change: &satdet::analysis::Change, m: &serde_json::Value) {
    use satdet::analysis::ChangeKind;
    for (class, kinds) in m["dates"]["change"].as_object().expect("change") {
        for (kind, n) in kinds.as_object().expect("kinds") {
            let k = [ChangeKind::Appeared, ChangeKind::Gone, ChangeKind::Stayed]
                .into_iter()
                .find(|k| k.as_str() == kind)
                .expect("a change kind");
            assert_eq!(
                change.counts[class].get(&k).copied().unwrap_or(0) as u64,
                n.as_u64().expect("n"),
                "{class} {kind}"
            );
        }
    }
}

/// `satdet` run as an analyst would: detect on both dates (different formats), sites,
/// compare with the sites, report; every count checked against the fixture's truth.
#[test]
fn the_command_line_workflow_gives_the_true_sites_and_changes() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| d.path().join(n);
    let model = common::fixture("two_class_detector.onnx");
    let ok = |args: &[&std::ffi::OsStr]| {
        let o = common::satdet(args);
        assert!(
            o.status.success(),
            "satdet {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    for (scene, out) in [("date1.tif", "d1.gpkg"), ("date2.tif", "d2.kmz")] {
        let s = common::fixture(scene);
        let stdout = ok(&[
            os("detect"),
            s.as_os_str(),
            os("--model"),
            model.as_os_str(),
            os("--output"),
            p(out).as_os_str(),
        ]);
        assert!(stdout.contains("17 detections"), "{stdout}");
    }
    let stdout = ok(&[
        os("sites"),
        p("d1.gpkg").as_os_str(),
        os("--output"),
        p("s1.geojson").as_os_str(),
        os("--detections-output"),
        p("by_site.kml").as_os_str(),
    ]);
    assert!(stdout.contains("3 sites"), "{stdout}");
    // Google Earth gets one folder per site (OGR: one layer per folder) with its objects.
    let info = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so"])
        .arg(p("by_site.kml"))
        .output()
        .expect("ogrinfo (gdal-bin)");
    let info = String::from_utf8_lossy(&info.stdout);
    for layer in ["site 1 (8)", "site 2 (4)", "site 3 (3)", "outside sites"] {
        assert!(info.contains(layer), "{info}");
    }
    let m = common::manifest();
    let counts = |v: &serde_json::Value| -> Vec<Vec<(String, usize)>> {
        v.as_array()
            .expect("sites")
            .iter()
            .map(|s| {
                let mut c: Vec<(String, usize)> = s
                    .as_object()
                    .expect("counts")
                    .iter()
                    .map(|(k, n)| (k.clone(), n.as_u64().expect("n") as usize))
                    .collect();
                c.sort();
                c
            })
            .collect()
    };
    let sites = satdet::output::read_sites(p("s1.geojson")).expect("read sites");
    let got: Vec<Vec<(String, usize)>> = sites
        .iter()
        .map(|s| s.counts.iter().map(|(k, n)| (k.clone(), *n)).collect())
        .collect();
    assert_eq!(got, counts(&m["dates"]["sites_date1"]));

    ok(&[
        os("compare"),
        p("d1.gpkg").as_os_str(),
        p("d2.kmz").as_os_str(),
        os("--sites"),
        p("s1.geojson").as_os_str(),
        os("--output"),
        p("change.csv").as_os_str(),
    ]);
    let change = satdet::output::read_change(p("change.csv")).expect("read change");
    assert_true_change(&change, &m);
    let off = &m["dates"]["offset_m"];
    assert!((change.offset_m[0] - off[0].as_f64().expect("e")).abs() < 0.25);
    assert!((change.offset_m[1] - off[1].as_f64().expect("n")).abs() < 0.25);

    let stdout = ok(&[
        os("report"),
        os("--detections"),
        p("d2.kmz").as_os_str(),
        os("--sites"),
        p("s1.geojson").as_os_str(),
        os("--change"),
        p("change.csv").as_os_str(),
        os("--scene"),
        common::fixture("date2.tif").as_os_str(),
        os("--before-scene"),
        common::fixture("date1.tif").as_os_str(),
        os("--output"),
        p("report.html").as_os_str(),
    ]);
    assert!(stdout.contains("3 sites"), "{stdout}");
    let html = std::fs::read_to_string(p("report.html")).expect("html");
    assert!(
        html.contains("2025-09-13"),
        "the acquisition date is in the report"
    );
}

/// `--aoi` around sites A and B of date 1 (a polygon in the scene's UTM CRS, named by
/// the old-style GeoJSON `crs` member): only their 12 objects, and tiles outside unread.
#[test]
fn an_area_of_interest_keeps_only_what_lies_inside_it() {
    let d = tempfile::tempdir().expect("tempdir");
    let m = common::manifest();
    let dm = &m["dates"];
    let (ulx, uly, gsd) = (
        dm["ulx"].as_f64().expect("ulx"),
        dm["uly"].as_f64().expect("uly"),
        dm["gsd_m"].as_f64().expect("gsd"),
    );
    let b: Vec<f64> = dm["aoi_px"]
        .as_array()
        .expect("aoi")
        .iter()
        .map(|v| v.as_f64().expect("px"))
        .collect();
    let (x0, y0, x1, y1) = (
        ulx + b[0] * gsd,
        uly - b[1] * gsd,
        ulx + b[2] * gsd,
        uly - b[3] * gsd,
    );
    let aoi = d.path().join("aoi.geojson");
    std::fs::write(
        &aoi,
        format!(
            r#"{{"type": "Polygon", "crs": {{"type": "name", "properties": {{"name": "EPSG:32633"}}}},
                "coordinates": [[[{x0}, {y0}], [{x1}, {y0}], [{x1}, {y1}], [{x0}, {y1}], [{x0}, {y0}]]]}}"#
        ),
    )
    .expect("write aoi");
    let out = d.path().join("d1.csv");
    let o = common::satdet(&[
        std::ffi::OsStr::new("detect"),
        common::fixture("date1.tif").as_os_str(),
        std::ffi::OsStr::new("--model"),
        common::fixture("two_class_detector.onnx").as_os_str(),
        std::ffi::OsStr::new("--aoi"),
        aoi.as_os_str(),
        std::ffi::OsStr::new("--output"),
        out.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("12 detections"), "{stdout}");
    assert!(stdout.contains("area of interest: 0.120 km²"), "{stdout}");
    let dets = satdet::output::read_detections(&out).expect("read");
    assert_eq!(dets.len(), 12);
    // The file records that the run was limited to an area (CSV: metadata columns).
    let header = std::fs::read_to_string(&out).expect("csv");
    let header = header.lines().next().expect("header");
    for col in ["aoi_km2", "tiles_outside_aoi", "detections_outside_aoi"] {
        assert!(header.contains(col), "{header}");
    }
    for det in &dets {
        let [bx0, by0, bx1, by1] = det.pixel_box.to_array();
        let (cx, cy) = ((bx0 + bx1) / 2.0, (by0 + by1) / 2.0);
        assert!(
            cx > b[0] && cx < b[2] && cy > b[1] && cy < b[3],
            "{cx}, {cy}"
        );
    }
    // Tiles outside the area were not read: the summary says how many.
    let outside: usize = stdout
        .split("; ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("tiles outside in the summary");
    assert!(outside > 30, "{stdout}");
}

/// The dates misregistered by more than half the spacing of the objects (12 m) and more
/// than the tolerance: nearest neighbours are the wrong objects, yet the offset and the
/// changes come out right.
#[test]
fn a_large_offset_between_dates_is_still_found() {
    let before = detect("date1.tif");
    let mut after = detect("date2.tif");
    let extra_east_m = 5.0; // on top of the fixture's +2 m east, -1.5 m north
    for d in after.items.iter_mut() {
        let p = d.lonlat_polygon.as_mut().expect("lonlat");
        let lat = p[0][1];
        for c in p.iter_mut() {
            c[0] += extra_east_m / (111_320.0 * lat.to_radians().cos());
        }
    }
    let change = satdet::analysis::compare(&before, &after, 3.0).expect("compare");
    let m = common::manifest();
    let off = &m["dates"]["offset_m"];
    assert!(
        (change.offset_m[0] - off[0].as_f64().expect("e") - extra_east_m).abs() < 0.25
            && (change.offset_m[1] - off[1].as_f64().expect("n")).abs() < 0.25,
        "{:?}",
        change.offset_m
    );
    assert_true_change(&change, &m);
}

/// Bad input to the analysis subcommands: exit 1, a message naming the file or the value,
/// nothing written.
#[test]
fn analysis_subcommands_refuse_bad_input_clearly() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| d.path().join(n);
    let dets = p("d.geojson");
    let o = common::satdet(&[
        std::ffi::OsStr::new("detect"),
        common::fixture("date1.tif").as_os_str(),
        std::ffi::OsStr::new("--model"),
        common::fixture("two_class_detector.onnx").as_os_str(),
        std::ffi::OsStr::new("-o"),
        dets.as_os_str(),
    ]);
    assert!(o.status.success());
    let fails = |args: Vec<std::ffi::OsString>, want: &str| {
        let o = common::satdet(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    };
    let s = |x: &str| std::ffi::OsString::from(x);
    let out = p("s.geojson");
    fails(
        vec![
            s("sites"),
            dets.clone().into(),
            s("-o"),
            out.clone().into(),
            s("--eps"),
            s("-5"),
        ],
        "eps",
    );
    // A sites file is not a detections file.
    let sites = p("sites.geojson");
    assert!(common::satdet(&[
        s("sites"),
        dets.clone().into(),
        s("-o"),
        sites.clone().into()
    ])
    .status
    .success());
    fails(
        vec![
            s("compare"),
            sites.clone().into(),
            dets.clone().into(),
            s("-o"),
            out.clone().into(),
        ],
        "sites.geojson",
    );
    // Detections without WGS84 geometry (a scene without georeferencing).
    let plain = p("plain.geojson");
    let text = std::fs::read_to_string(&dets).expect("read");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut v2 = v.clone();
    for f in v2["features"].as_array_mut().expect("features") {
        f["geometry"] = serde_json::Value::Null;
    }
    std::fs::write(&plain, v2.to_string()).expect("write");
    fails(
        vec![
            s("sites"),
            plain.clone().into(),
            s("-o"),
            out.clone().into(),
        ],
        "plain.geojson",
    );
    fails(
        vec![
            s("report"),
            s("--detections"),
            dets.clone().into(),
            s("--scene"),
            common::fixture("date1.tif").into(),
            s("-o"),
            p("report.png").into(),
        ],
        ".html",
    );
    assert!(!out.exists() && !p("report.png").exists());
}
