//! One result from several scenes: objects in the overlap of two scenes reported once.

use crate::analysis::plane::LocalPlane;
use crate::detection::{Detection, Detections, Report};
use crate::error::Result;
use crate::geo::aoi::project::{Reproject, WGS84};
use crate::geo::PixelBox;
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
/// detections of one class from different scenes are one object when their footprints,
/// compared in one local transverse Mercator plane around all the detections (so scenes
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
    let mut envs: Vec<[f64; 4]> = Vec::new();
    for (k, d) in all {
        let env = match (&plane, d.lonlat_polygon) {
            (Some(p), Some(ring)) => {
                let m = p.corners(&ring)?;
                let xs = m.map(|c| c[0]);
                let ys = m.map(|c| c[1]);
                Some([
                    xs.iter().copied().fold(f64::INFINITY, f64::min),
                    ys.iter().copied().fold(f64::INFINITY, f64::min),
                    xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                ])
            }
            _ => None,
        };
        if let Some(e) = env {
            let tree = trees.entry(d.class_id).or_default();
            let q = AABB::from_corners([e[0], e[1]], [e[2], e[3]]);
            let dup = tree.locate_in_envelope_intersecting(&q).any(|other| {
                let (ok, _) = kept[other.data];
                if ok == k {
                    return false;
                }
                let o = envs[other.data];
                let a = PixelBox::new(e[0], e[1], e[2], e[3]);
                let b = PixelBox::new(o[0], o[1], o[2], o[3]);
                let inter = a.intersection_area(&b);
                let (aa, ab) = (a.width() * a.height(), b.width() * b.height());
                let union = aa + ab - inter;
                (union > 0.0 && inter / union >= iou)
                    || (aa.min(ab) > 0.0 && inter / aa.min(ab) >= ios)
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
        envs.push(env.unwrap_or([0.0; 4]));
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
