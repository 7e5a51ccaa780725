//! Areas of interest in a run: only the tiles meeting the area are read (checked with
//! sources that record every window read), detections centred outside are dropped, the
//! report counts both, and an 80 km corridor over a 40 km scene costs its own tiles.

mod common;
#[path = "common/aoi_helpers.rs"]
mod helpers;

use helpers::{detector, lonlat, ring_json, square, utm_polygon, Dark, K0};
use satdet::raster::{
    BandLayout, MaskSpec, RasterInfo, SampleType, SamplesMut, TileBuf, Window, WindowSource,
};
use satdet::{Aoi, Crs, Error, Event, GeoRef, GeoTransform, Scene};
use std::collections::BTreeSet;
use std::f64::consts::PI;
use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// Wraps a scene, recording every window read.
struct Recording {
    inner: Scene,
    info: RasterInfo,
    windows: Mutex<Vec<Window>>,
}

impl WindowSource for Recording {
    fn info(&self) -> &RasterInfo {
        &self.info
    }
    fn read_window(&self, window: Window, buf: &mut TileBuf) -> satdet::Result<()> {
        self.windows.lock().expect("lock").push(window);
        self.inner.read_window(window, buf)
    }
}

/// The fixture scene (UTM 33N, 0.5 m, 1100 × 900, 16 squares) under a rectangle with a
/// hole, in UTM: exactly the squares centred inside are found, only the tiles meeting the
/// area are read, and the report counts the rest.
#[test]
fn only_tiles_meeting_the_area_are_read_and_detections_outside_are_dropped() {
    let file = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    let georef = file.georef().cloned().expect("georef");
    let info = file.info().clone();
    let source = Arc::new(Recording {
        inner: file,
        info,
        windows: Mutex::new(Vec::new()),
    });
    let scene = Scene::from_source(source.clone(), Some(georef.clone())).expect("scene");
    // In pixels: the rectangle [0, 503] × [0, 455] less the hole [180, 280] × [280, 380]. Its
    // right and bottom edges cut squares whose centres lie outside.
    let (rect, hole) = ([0.0, 0.0, 503.0, 455.0], [180.0, 280.0, 280.0, 380.0]);
    let to_map = |px: f64, py: f64| [500_000.0 + 0.5 * px, 5_000_000.0 - 0.5 * py];
    let ring = |b: [f64; 4]| {
        vec![
            to_map(b[0], b[1]),
            to_map(b[2], b[1]),
            to_map(b[2], b[3]),
            to_map(b[0], b[3]),
            to_map(b[0], b[1]),
        ]
    };
    let aoi = Aoi::from_geojson_str(&utm_polygon(&[ring(rect), ring(hole)]), "site.geojson")
        .expect("aoi");
    let det = detector().aoi(aoi).build().expect("detector");
    let plan = det.plan(&scene).expect("plan");
    assert!(
        source.windows.lock().expect("lock").is_empty(),
        "the plan reads nothing"
    );
    let kept = plan.aoi.clone().expect("aoi plan");

    // Independently: a tile is needed when its window meets the rectangle and does not
    // lie inside the hole.
    let meets = |w: &Window| {
        let (x0, y0, x1, y1) = (
            f64::from(w.x),
            f64::from(w.y),
            w.x_end() as f64,
            w.y_end() as f64,
        );
        let in_rect = x0 <= rect[2] && x1 >= rect[0] && y0 <= rect[3] && y1 >= rect[1];
        let in_hole = x0 > hole[0] && x1 < hole[2] && y0 > hole[1] && y1 < hole[3];
        in_rect && !in_hole
    };
    let want_tiles: Vec<usize> = plan
        .grid
        .iter()
        .filter(|t| meets(&t.window))
        .map(|t| t.index)
        .collect();
    assert_eq!(kept.tiles, want_tiles);
    assert_eq!(kept.tiles_outside, plan.grid.len() - want_tiles.len());
    assert!(kept.tiles_outside > 0);
    let area_want = (503.0 * 455.0 - 100.0 * 100.0) * 0.25 / 1e6 / (K0 * K0);
    assert!((kept.area_km2 - area_want).abs() < 1e-4 * area_want);

    let last = Arc::new(Mutex::new((0, 0)));
    let l2 = last.clone();
    let found = det
        .detect_with(&scene, |e| {
            if let Event::Progress(p) = e {
                *l2.lock().expect("lock") = (p.tiles_done, p.tiles_total);
            }
            ControlFlow::Continue(())
        })
        .expect("detect");
    // Every window read is a kept tile's, each once; no other is read.
    let read: Vec<Window> = source.windows.lock().expect("lock").clone();
    let want_windows: BTreeSet<(u32, u32, u32, u32)> = want_tiles
        .iter()
        .map(|&i| plan.grid.tile(i).expect("tile").window)
        .map(|w| (w.x, w.y, w.width, w.height))
        .collect();
    let got_windows: BTreeSet<(u32, u32, u32, u32)> =
        read.iter().map(|w| (w.x, w.y, w.width, w.height)).collect();
    assert_eq!(read.len(), want_windows.len(), "each tile read once");
    assert_eq!(got_windows, want_windows);
    // Progress reached 100 % of the tiles to read.
    assert_eq!(
        *last.lock().expect("lock"),
        (want_tiles.len(), want_tiles.len())
    );
    let r = &found.report;
    assert_eq!(r.tiles_total, plan.grid.len());
    assert_eq!(r.tiles_outside_aoi, kept.tiles_outside);
    assert_eq!(
        r.tiles_processed + r.tiles_skipped + r.tiles_outside_aoi,
        r.tiles_total
    );
    assert_eq!(r.aoi_area_km2, Some(kept.area_km2));

    // The squares centred inside the area, and those centred in a read window but outside.
    let inside = |c: [f64; 2]| {
        c[0] > rect[0]
            && c[0] < rect[2]
            && c[1] > rect[1]
            && c[1] < rect[3]
            && !(c[0] > hole[0] && c[0] < hole[2] && c[1] > hole[1] && c[1] < hole[3])
    };
    let in_read = |b: &[f64; 4]| {
        read.iter().any(|w| {
            b[0] >= f64::from(w.x)
                && b[2] <= w.x_end() as f64
                && b[1] >= f64::from(w.y)
                && b[3] <= w.y_end() as f64
        })
    };
    let squares: Vec<[f64; 4]> = common::manifest()["detection"]["squares"]
        .as_array()
        .expect("squares")
        .iter()
        .map(|s| {
            let b: Vec<f64> = s["pixel_bbox"]
                .as_array()
                .expect("bbox")
                .iter()
                .map(|v| v.as_f64().expect("f64"))
                .collect();
            [b[0], b[1], b[2], b[3]]
        })
        .collect();
    let centre = |b: &[f64; 4]| [0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3])];
    let mut want: Vec<[f64; 2]> = squares.iter().map(centre).filter(|&c| inside(c)).collect();
    let dropped = squares
        .iter()
        .filter(|b| in_read(b) && !inside(centre(b)))
        .count();
    assert_eq!(want.len(), 6, "the test's own geometry");
    assert_eq!(dropped, 6, "the test's own geometry");
    let mut got: Vec<[f64; 2]> = found
        .iter()
        .map(|d| {
            let c = d.pixel_box.center();
            [c.x, c.y]
        })
        .collect();
    for c in &got {
        assert!(inside(*c), "a detection centred outside the area: {c:?}");
    }
    let key = |c: &[f64; 2]| (c[1] as i64, c[0] as i64);
    want.sort_by_key(key);
    got.sort_by_key(key);
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g[0] - w[0]).abs() < 1.0 && (g[1] - w[1]).abs() < 1.0,
            "{g:?} vs {w:?}"
        );
    }
    assert_eq!(r.detections_outside_aoi, dropped);
}

/// Distance from the segment a–b to the box `[x0, y0, x1, y1]` (0 when they meet).
fn segment_box_distance(a: [f64; 2], b: [f64; 2], r: [f64; 4]) -> f64 {
    let point_box = |p: [f64; 2]| {
        let dx = (r[0] - p[0]).max(0.0).max(p[0] - r[2]);
        let dy = (r[1] - p[1]).max(0.0).max(p[1] - r[3]);
        dx.hypot(dy)
    };
    let point_seg = |p: [f64; 2]| {
        let (vx, vy) = (b[0] - a[0], b[1] - a[1]);
        let t = (((p[0] - a[0]) * vx + (p[1] - a[1]) * vy) / (vx * vx + vy * vy)).clamp(0.0, 1.0);
        (p[0] - a[0] - t * vx).hypot(p[1] - a[1] - t * vy)
    };
    // They meet when an end is inside or the segment crosses an edge of the box.
    let inside = |p: [f64; 2]| p[0] >= r[0] && p[0] <= r[2] && p[1] >= r[1] && p[1] <= r[3];
    let cross = |p: [f64; 2], q: [f64; 2], c: [f64; 2], d: [f64; 2]| {
        let o = |u: [f64; 2], v: [f64; 2], w: [f64; 2]| {
            (v[0] - u[0]) * (w[1] - u[1]) - (v[1] - u[1]) * (w[0] - u[0])
        };
        o(p, q, c) * o(p, q, d) <= 0.0 && o(c, d, p) * o(c, d, q) <= 0.0
    };
    let corners = [[r[0], r[1]], [r[2], r[1]], [r[2], r[3]], [r[0], r[3]]];
    if inside(a) || inside(b) || (0..4).any(|i| cross(a, b, corners[i], corners[(i + 1) % 4])) {
        return 0.0;
    }
    let ends = point_box(a).min(point_box(b));
    corners.iter().map(|&c| point_seg(c)).fold(ends, f64::min)
}

/// An 80 km river corridor 1 km wide (a meander, 500 m either side of its centre line)
/// across a 40 × 40 km scene at 1 m: the plan keeps the corridor's tiles, checked tile by
/// tile against the distance from each tile's ground box to the centre line, and reads
/// nothing.
#[test]
fn an_80_km_corridor_over_a_40_km_scene_costs_its_own_tiles() {
    let side_px = 40_000u32;
    let (x0, y0) = (480_000.0, 5_020_000.0); // UTM 33N, around the central meridian
    let source = Arc::new(Dark::new(side_px, side_px));
    let georef = GeoRef {
        transform: GeoTransform::north_up(x0, y0, 1.0, 1.0),
        crs: Crs::Epsg(32633),
    };
    let scene = Scene::from_source(source.clone(), Some(georef)).expect("scene");
    // The centre line in UTM: x from 2 to 38 km, a sine of 8.6 km amplitude, 18 km period,
    // a vertex every 100 m of x.
    let line: Vec<[f64; 2]> = (0..=360)
        .map(|i| {
            let u = 2000.0 + 100.0 * f64::from(i);
            let v = 20_000.0 + 8600.0 * (2.0 * PI * (u - 2000.0) / 18_000.0).sin();
            [x0 + u, y0 - v]
        })
        .collect();
    let length: f64 = line
        .windows(2)
        .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]))
        .sum();
    assert!((78_000.0..82_000.0).contains(&(length / K0)), "{length} m");
    let coords: Vec<[f64; 2]> = line.iter().map(|p| lonlat(p[0], p[1])).collect();
    let text = format!(
        r#"{{"type": "LineString", "coordinates": {}}}"#,
        ring_json(&coords)
    );
    let aoi = Aoi::from_geojson_str(&text, "river.geojson")
        .and_then(|a| a.buffer_m(500.0))
        .expect("aoi");
    let det = detector().aoi(aoi.clone()).build().expect("detector");
    let plan = det.plan(&scene).expect("plan");
    assert_eq!(
        source.reads.load(Ordering::Relaxed),
        0,
        "planning reads nothing"
    );
    let kept = plan.aoi.clone().expect("aoi plan");
    let grid = &plan.grid;

    // 500 m of ground is 500 K0 m of UTM map; the area's arcs are chords (≤ 6 cm in) and
    // its vertices are reprojected exactly; a tile within 1 m of the edge may go either way.
    let reach = 500.0 * K0;
    let mut must = 0;
    let mut either = 0;
    for t in grid.iter() {
        let w = t.window;
        // The tile's box in map coordinates (north-up, 1 m pixels).
        let b = [
            x0 + f64::from(w.x),
            y0 - w.y_end() as f64,
            x0 + w.x_end() as f64,
            y0 - f64::from(w.y),
        ];
        let d = line
            .windows(2)
            .map(|s| segment_box_distance(s[0], s[1], b))
            .fold(f64::INFINITY, f64::min);
        let selected = kept.tiles.binary_search(&t.index).is_ok();
        if d < reach - 1.0 {
            assert!(
                selected,
                "tile {} at {d} m from the line was left out",
                t.index
            );
            must += 1;
        } else if d > reach + 1.0 {
            assert!(
                !selected,
                "tile {} at {d} m from the line was kept",
                t.index
            );
        } else {
            either += 1;
        }
    }
    assert!(kept.tiles.len() >= must && kept.tiles.len() <= must + either);
    assert_eq!(kept.tiles_outside, grid.len() - kept.tiles.len());
    // The corridor's cost: about its area over a tile's stride², not the scene's tiles.
    let stride = f64::from(grid.tile_px() - grid.overlap_px());
    let per_km = 1000.0 / stride * ((1000.0 + f64::from(grid.tile_px())) / stride + 1.0);
    let estimate = 80.0 * per_km;
    let share = kept.tiles.len() as f64 / grid.len() as f64;
    assert!(share < 0.1, "{} of {} tiles", kept.tiles.len(), grid.len());
    assert!(
        (kept.tiles.len() as f64) < 1.3 * estimate,
        "{} tiles for a corridor of about {estimate:.0}",
        kept.tiles.len()
    );
    let area = aoi.area_km2().expect("area");
    eprintln!(
        "corridor: {} of {} tiles kept ({must} certain, {either} within 1 m of the edge), about {estimate:.0} estimated; {area:.2} km²",
        kept.tiles.len(),
        grid.len()
    );
    assert!((area - 80.0).abs() < 2.5, "{area} km²");
    assert!((kept.area_km2 - area).abs() < 1e-12);
}

/// A computed scene (4 × 2 km at 1 m) with bright squares along and away from a
/// diagonal corridor: the run reads only the corridor's tiles and finds only the squares
/// centred in it.
#[test]
fn a_corridor_run_reads_its_tiles_and_finds_its_squares() {
    struct Squares {
        info: RasterInfo,
        at: Vec<(u32, u32)>,
        reads: Mutex<Vec<Window>>,
    }
    impl WindowSource for Squares {
        fn info(&self) -> &RasterInfo {
            &self.info
        }
        fn read_window(&self, w: Window, buf: &mut TileBuf) -> satdet::Result<()> {
            self.reads.lock().expect("lock").push(w);
            let SamplesMut::U8(s) = buf.samples_mut() else {
                return Err(Error::Config("8-bit".into()));
            };
            for (i, px) in s.chunks_exact_mut(3).enumerate() {
                let x = w.x + (i as u32) % w.width;
                let y = w.y + (i as u32) / w.width;
                let lit = self
                    .at
                    .iter()
                    .any(|&(sx, sy)| (sx..sx + 11).contains(&x) && (sy..sy + 11).contains(&y));
                px.copy_from_slice(if lit { &[255, 255, 255] } else { &[40, 45, 40] });
            }
            Ok(())
        }
    }
    let (w, h) = (4000u32, 2000u32);
    let (x0, y0) = (500_000.0, 5_000_000.0);
    // Squares on the diagonal (in the corridor) and 300 m off it (outside a 100 m buffer).
    let on: Vec<(u32, u32)> = (1..8).map(|k| (k * 500, k * 250)).collect();
    let off: Vec<(u32, u32)> = (1..8)
        .map(|k| (k * 500, (k * 250 + 300).min(h - 20)))
        .collect();
    let source = Arc::new(Squares {
        info: RasterInfo {
            width: w,
            height: h,
            bands: 3,
            sample: SampleType::U8,
            layout: BandLayout::Interleaved,
            mask: MaskSpec {
                alpha_band: None,
                nodata: None,
            },
            storage: "squares, computed".into(),
        },
        at: on.iter().chain(&off).copied().collect(),
        reads: Mutex::new(Vec::new()),
    });
    let georef = GeoRef {
        transform: GeoTransform::north_up(x0, y0, 1.0, 1.0),
        crs: Crs::Epsg(32633),
    };
    let scene = Scene::from_source(source.clone(), Some(georef)).expect("scene");
    // The diagonal through the squares' centres (offset by 5.5 px), in lon/lat.
    let a = lonlat(x0 + 5.5, y0 - 5.5);
    let b = lonlat(x0 + 4000.0 + 5.5, y0 - 2000.0 - 5.5);
    let text = format!(
        r#"{{"type": "LineString", "coordinates": [[{}, {}], [{}, {}]]}}"#,
        a[0], a[1], b[0], b[1]
    );
    let aoi = Aoi::from_geojson_str(&text, "diag.geojson")
        .and_then(|a| a.buffer_m(100.0))
        .expect("aoi");
    let det = detector().aoi(aoi).build().expect("detector");
    let plan = det.plan(&scene).expect("plan");
    let kept = plan.aoi.clone().expect("aoi");
    let found = det.detect(&scene).expect("detect");
    let read = source.reads.lock().expect("lock").clone();
    assert_eq!(read.len(), kept.tiles.len());
    let key = |w: &Window| (w.x, w.y, w.width, w.height);
    let allowed: BTreeSet<_> = kept
        .tiles
        .iter()
        .map(|&i| key(&plan.grid.tile(i).expect("tile").window))
        .collect();
    let got: BTreeSet<_> = read.iter().map(key).collect();
    assert_eq!(got, allowed, "exactly the corridor's tiles are read");
    assert!(
        kept.tiles.len() * 2 < plan.grid.len(),
        "{} of {}",
        kept.tiles.len(),
        plan.grid.len()
    );
    let mut centres: Vec<(i64, i64)> = found
        .iter()
        .map(|d| {
            let c = d.pixel_box.center();
            (c.x.round() as i64, c.y.round() as i64)
        })
        .collect();
    centres.sort_unstable();
    let mut want: Vec<(i64, i64)> = on
        .iter()
        .map(|&(x, y)| (i64::from(x) + 6, i64::from(y) + 6))
        .collect();
    want.sort_unstable();
    assert_eq!(centres.len(), want.len(), "{centres:?}");
    for (c, w) in centres.iter().zip(&want) {
        assert!(
            (c.0 - w.0).abs() <= 1 && (c.1 - w.1).abs() <= 1,
            "{c:?} vs {w:?}"
        );
    }
}

/// A 16-bit scene's percentile stretch samples windows inside the area's tiles only.
#[test]
fn the_16_bit_stretch_reads_only_inside_the_area() {
    let file = Scene::open(common::fixture("utm_pan16_strips.tif")).expect("open");
    let georef = file.georef().cloned().expect("georef");
    let info = file.info().clone();
    let source = Arc::new(Recording {
        inner: file,
        info,
        windows: Mutex::new(Vec::new()),
    });
    let scene = Scene::from_source(source.clone(), Some(georef)).expect("scene");
    // The upper-left 150 × 120 m of the scene, in UTM.
    let aoi = Aoi::from_geojson_str(
        &utm_polygon(&[square(500_000.0, 4_999_880.0, 120.0)]),
        "corner.geojson",
    )
    .expect("aoi");
    let det = detector().aoi(aoi).build().expect("detector");
    let plan = det.plan(&scene).expect("plan");
    let kept = plan.aoi.clone().expect("aoi");
    assert!(kept.tiles.len() < plan.grid.len());
    let scaling = det.scaling_for(&scene).expect("scaling");
    let found = det.detect(&scene).expect("detect");
    assert_eq!(
        found.report.scaling, scaling,
        "detect uses the same stretch"
    );
    let windows = source.windows.lock().expect("lock").clone();
    assert!(!windows.is_empty());
    for w in &windows {
        let inside = kept.tiles.iter().any(|&i| {
            let t = plan.grid.tile(i).expect("tile").window;
            w.x >= t.x && w.x_end() <= t.x_end() && w.y >= t.y && w.y_end() <= t.y_end()
        });
        assert!(inside, "{w:?} read outside the area's tiles");
    }
}

/// An area that misses the scene: nothing is read, the run ends at once with a warning,
/// and progress still reports its (empty) end.
#[test]
fn an_area_missing_the_scene_reads_nothing_and_says_so() {
    let source = Arc::new(Dark::new(1000, 1000));
    let georef = GeoRef {
        transform: GeoTransform::north_up(500_000.0, 5_000_000.0, 1.0, 1.0),
        crs: Crs::Epsg(32633),
    };
    let scene = Scene::from_source(source.clone(), Some(georef)).expect("scene");
    // 5 km east of the scene.
    let aoi = Aoi::from_geojson_str(
        &utm_polygon(&[square(506_000.0, 4_999_500.0, 200.0)]),
        "elsewhere.geojson",
    )
    .expect("aoi");
    let det = detector().aoi(aoi).build().expect("detector");
    let mut events = Vec::new();
    let found = det
        .detect_with(&scene, |e| {
            if let Event::Progress(p) = e {
                events.push((p.tiles_done, p.tiles_total));
            }
            ControlFlow::Continue(())
        })
        .expect("detect");
    assert_eq!(source.reads.load(Ordering::Relaxed), 0);
    assert!(found.is_empty());
    assert_eq!(events, [(0, 0)]);
    let r = &found.report;
    assert_eq!((r.tiles_processed, r.tiles_outside_aoi), (0, r.tiles_total));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("does not meet the scene")),
        "{:?}",
        r.warnings
    );
}
