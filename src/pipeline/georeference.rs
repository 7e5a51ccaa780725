//! The georeference step: merged candidates in scene pixels → [`Detection`]s with their
//! map and WGS84 polygons. Pure: plain data in, plain data out.

use crate::detection::Detection;
use crate::geo::{Crs, GeoRef, ToWgs84};
use crate::postprocess::Candidate;
use std::path::Path;
use std::sync::Arc;

/// Georeferences candidates one batch at a time, counting the boxes whose lon/lat cannot
/// be computed (they keep their map polygon) for one summary warning.
pub(crate) struct Georeferencer<'a> {
    georef: Option<&'a GeoRef>,
    to_wgs84: Option<ToWgs84>,
    failed: usize,
    first_failure: String,
}

impl<'a> Georeferencer<'a> {
    /// For a scene with `georef`; a CRS that cannot be reprojected is one warning here
    /// (an unknown CRS was already warned about when the scene was opened).
    pub fn new(georef: Option<&'a GeoRef>, scene: &Path, warnings: &mut Vec<String>) -> Self {
        let to_wgs84 = match georef {
            Some(g) if matches!(g.crs, Crs::Unknown(_)) => None,
            Some(g) => match ToWgs84::new(&g.crs) {
                Ok(t) => Some(t),
                Err(e) => {
                    warnings.push(format!(
                        "{}: {e}; lon/lat polygons omitted",
                        scene.display()
                    ));
                    None
                }
            },
            None => None,
        };
        Georeferencer {
            georef,
            to_wgs84,
            failed: 0,
            first_failure: String::new(),
        }
    }

    /// One detection; `name` is its class name.
    pub fn detection(&mut self, c: Candidate, name: Arc<str>) -> Detection {
        let map_polygon = self.georef.map(|g| match &c.oriented {
            Some(o) => g.map_ring(o.corners()),
            None => g.map_polygon(&c.bbox),
        });
        // A box the projection cannot invert (e.g. far outside its zone) keeps its map
        // polygon; only its lon/lat is omitted, and the report says so.
        let lonlat_polygon = match (&self.to_wgs84, &map_polygon) {
            (Some(t), Some(m)) => match t.polygon(m) {
                Ok(p) => Some(p),
                Err(e) => {
                    if self.failed == 0 {
                        self.first_failure = e.to_string();
                    }
                    self.failed += 1;
                    None
                }
            },
            _ => None,
        };
        Detection {
            class_id: c.class_id,
            class_name: name,
            score: c.score,
            pixel_box: c.bbox,
            oriented: c.oriented,
            map_polygon,
            lonlat_polygon,
        }
    }

    /// The summary warning, when some boxes have no lon/lat.
    pub fn finish(self, scene: &Path, warnings: &mut Vec<String>) {
        if self.failed > 0 {
            warnings.push(format!(
                "{}: {} detection(s) could not be reprojected to WGS84 and have no lon/lat polygon (first: {})",
                scene.display(),
                self.failed,
                self.first_failure
            ));
        }
    }
}
