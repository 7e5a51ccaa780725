//! One result from several scenes: objects in the overlap of two scenes reported once.

use crate::analysis::plane::LocalPlane;
use crate::detection::{Detection, Detections, Report};
use crate::error::Result;
use crate::geo::aoi::project::{Reproject, WGS84};
use crate::geo::{bounds, ios_of, iou_of, quad_area, quad_intersection_area, PixelBox};
use crate::postprocess::{rank, Candidate};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use std::path::PathBuf;

/// The detections of a job of several scenes.
#[derive(Debug, Clone)]
pub struct JobDetections {
    /// Every object once, best score first. `scene` names the job's scenes (joined with
    /// ` + `); `crs` is the first scene's CRS and every map polygon is in it (reprojected
    /// from the other scenes' CRSs through WGS84); pixel boxes are in their own scene's
    /// pixels ([`JobDetections::scene_of`]); the report sums the scenes' reports.
    pub detections: Detections,
    /// For each detection, the index of its scene.
    pub scene_of: Vec<usize>,
    /// For each scene, its detections dropped as duplicates of another scene's (in the
    /// overlap of the two).
    pub duplicates: Vec<usize>,
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Merges the detections of a job's scenes (in job order) into one result. Two
/// detections of one class from different scenes are one object when their footprints
/// (axis-aligned boxes by their envelopes on the plane, oriented ones by their rotated
/// footprints), compared in one local transverse Mercator plane around all the detections (so scenes
/// in different CRSs, e.g. UTM 51N and 52N, compare exactly), overlap with IoU ≥ `iou`
/// or intersection over the smaller ≥ `ios` (an object cut by one scene's edge and whole
/// in the other): the better-ranked one stays (score, then the earlier scene).
/// Detections within one scene were merged by its run and are not compared again.
/// Detections without WGS84 coordinates cannot be placed and are all kept. The result
/// does not depend on the order of detections within a scene.
pub fn merge_scenes(scenes: &[Detections], iou: f64, ios: f64) -> Result<JobDetections> {
    let mut all: Vec<(usize, &Detection)> = Vec::new();
    for (k, d) in scenes.iter().enumerate() {
        all.extend(d.items.iter().map(|x| (k, x)));
    }
    let points: Vec<[f64; 2]> = all
        .iter()
        .filter_map(|(_, d)| d.lonlat_center().map(|c| [c.lon, c.lat]))
        .collect();
    let plane = if scenes.len() > 1 && !points.is_empty() {
        Some(LocalPlane::around(&points)?)
    } else {
        None
    };
    // Rank order: score, class, position (the crate's candidate order), then scene.
    let key = |d: &Detection| Candidate {
        bbox: d.pixel_box,
        oriented: d.oriented,
        score: d.score,
        class_id: d.class_id,
        tile: 0,
        clipped: false,
    };
    all.sort_by(|a, b| {
        b.1.score
            .total_cmp(&a.1.score)
            .then(a.0.cmp(&b.0))
            .then_with(|| rank(&key(a.1), &key(b.1)))
    });
    let mut duplicates = vec![0usize; scenes.len()];
    let mut kept: Vec<(usize, &Detection)> = Vec::new();
    let mut trees: std::collections::HashMap<u32, RTree<Entry>> = Default::default();
    // Each kept detection's corners on the plane, and whether it is oriented.
    let mut placed: Vec<Option<([[f64; 2]; 4], bool)>> = Vec::new();
    for (k, d) in all {
        let quad = match (&plane, d.lonlat_polygon) {
            (Some(p), Some(ring)) => Some(p.corners(&ring)?),
            _ => None,
        };
        let env = quad.map(bounds);
        if let (Some(e), Some(m)) = (env, quad) {
            let tree = trees.entry(d.class_id).or_default();
            let q = AABB::from_corners([e[0], e[1]], [e[2], e[3]]);
            let dup = tree.locate_in_envelope_intersecting(&q).any(|other| {
                let (ok, _) = kept[other.data];
                if ok == k {
                    return false;
                }
                let Some((om, o_oriented)) = placed[other.data] else {
                    return false;
                };
                // Oriented footprints are compared as they are (diagonal neighbours
                // must not suppress each other); axis-aligned boxes by their envelopes
                // on the plane, as before.
                let (inter, aa, ab) = if d.oriented.is_some() || o_oriented {
                    (
                        quad_intersection_area(&m, &om),
                        quad_area(&m),
                        quad_area(&om),
                    )
                } else {
                    let o = bounds(om);
                    let a = PixelBox::new(e[0], e[1], e[2], e[3]);
                    let b = PixelBox::new(o[0], o[1], o[2], o[3]);
                    (a.intersection_area(&b), a.area(), b.area())
                };
                iou_of(inter, aa, ab) >= iou || ios_of(inter, aa, ab) >= ios
            });
            if dup {
                duplicates[k] += 1;
                continue;
            }
            tree.insert(GeomWithData::new(
                Rectangle::from_corners([e[0], e[1]], [e[2], e[3]]),
                kept.len(),
            ));
        }
        placed.push(quad.map(|m| (m, d.oriented.is_some())));
        kept.push((k, d));
    }
    // The first scene's CRS for every map polygon.
    let job_crs = scenes.first().and_then(|d| d.crs.clone());
    let to_job = job_crs
        .as_ref()
        .and_then(|c| c.proj4())
        .and_then(|def| Reproject::between(WGS84, def));
    let mut items = Vec::with_capacity(kept.len());
    let mut scene_of = Vec::with_capacity(kept.len());
    for (k, d) in kept {
        let mut d = d.clone();
        if scenes[k].crs != job_crs {
            d.map_polygon = match (&to_job, d.lonlat_polygon) {
                (Some(r), Some(ll)) => {
                    let m = ll.map(|p| r.point(p));
                    m.iter()
                        .all(Option::is_some)
                        .then(|| m.map(|p| p.unwrap_or_default()))
                }
                _ => None,
            };
        }
        items.push(d);
        scene_of.push(k);
    }
    let mut report = Report::default();
    let mut warnings = Vec::new();
    for (k, d) in scenes.iter().enumerate() {
        let r = &d.report;
        if k == 0 {
            report = Report {
                warnings: Vec::new(),
                ..r.clone()
            };
            report.times = Default::default();
            report.tiles_total = 0;
            report.tiles_processed = 0;
            report.tiles_skipped = 0;
            report.tiles_resumed = 0;
            report.tiles_outside_aoi = 0;
            report.detections_outside_aoi = 0;
            report.candidates_capped = 0;
            report.area_km2 = Some(0.0);
        }
        report.tiles_total += r.tiles_total;
        report.tiles_processed += r.tiles_processed;
        report.tiles_skipped += r.tiles_skipped;
        report.tiles_resumed += r.tiles_resumed;
        report.tiles_outside_aoi += r.tiles_outside_aoi;
        report.detections_outside_aoi += r.detections_outside_aoi;
        report.candidates_capped += r.candidates_capped;
        report.area_km2 = match (report.area_km2, r.area_km2) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        let t = &mut report.times;
        t.stretch += r.times.stretch;
        t.read += r.times.read;
        t.preprocess += r.times.preprocess;
        t.inference += r.times.inference;
        t.postprocess += r.times.postprocess;
        t.total += r.times.total;
        warnings.extend(r.warnings.iter().cloned());
    }
    report.warnings = warnings;
    let names: Vec<String> = scenes
        .iter()
        .map(|d| d.scene.to_string_lossy().into_owned())
        .collect();
    let acquired = match scenes.first().and_then(|d| d.acquired.clone()) {
        Some(a)
            if scenes
                .iter()
                .all(|d| d.acquired.as_deref() == Some(a.as_str())) =>
        {
            Some(a)
        }
        _ => None,
    };
    Ok(JobDetections {
        detections: Detections {
            items,
            scene: PathBuf::from(names.join(" + ")),
            crs: job_crs,
            acquired,
            report,
        },
        scene_of,
        duplicates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::OrientedBox;
    use std::sync::Arc;

    /// A 4.5 x 1.8 m car turned by 45°, its centre `x` metres east and `y` north of
    /// (15° E, 45° N), as a detection whose polygons are its rotated footprint.
    fn car(x: f64, y: f64, score: f32, oriented: bool) -> Detection {
        let o = OrientedBox::new(x, y, 4.5, 1.8, 45f64.to_radians());
        let ll = o.corners().map(|c| {
            [
                15.0 + c.x / (111_320.0 * 45f64.to_radians().cos()),
                45.0 + c.y / 110_540.0,
            ]
        });
        Detection {
            class_id: 0,
            class_name: Arc::from("car"),
            score,
            pixel_box: o.envelope(),
            oriented: oriented.then_some(o),
            map_polygon: None,
            lonlat_polygon: Some(ll),
        }
    }

    fn scene(items: Vec<Detection>) -> Detections {
        Detections {
            items,
            scene: PathBuf::from("s.tif"),
            crs: None,
            acquired: None,
            report: Report::default(),
        }
    }

    #[test]
    fn diagonal_neighbours_in_two_scenes_are_not_duplicates_when_oriented() {
        // A row of five cars at 45°, 1.95 m apart across their 1.8 m sides; scene A saw
        // cars 0, 2 and 4, scene B cars 1 and 3 and car 0 again.
        let step = 1.95 / 2f64.sqrt();
        let at = |i: usize| (-step * i as f64, step * i as f64);
        for oriented in [true, false] {
            let mk = |i: usize, s: f32| car(at(i).0, at(i).1, s, oriented);
            let a = scene(vec![mk(0, 0.9), mk(2, 0.9), mk(4, 0.9)]);
            let b = scene(vec![mk(1, 0.8), mk(3, 0.8), mk(0, 0.7)]);
            let out = merge_scenes(&[a, b], 0.3, 0.7).expect("merge");
            if oriented {
                // Every car once: only the second sighting of car 0 is a duplicate.
                assert_eq!(out.detections.len(), 5);
                assert_eq!(out.duplicates, vec![0, 1]);
            } else {
                // Their envelopes overlap by IoU 0.31: as boxes, real cars are lost.
                assert!(out.detections.len() < 5, "{}", out.detections.len());
            }
        }
    }
}
