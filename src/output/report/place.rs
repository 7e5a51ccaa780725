//! Where things are on a scene: WGS84 → scene pixels (the inverse of the scene's
//! georeferencing), the pixel rectangle of a site, and which changed objects belong to
//! which site.

use crate::analysis::{Change, ChangeKind, Site};
use crate::detection::Detection;
use crate::geo::aoi::project::{Reproject, WGS84};
use crate::geo::{GeoTransform, LonLat, MapPoint, PixelPoint};
use crate::raster::Scene;
use std::collections::BTreeMap;

/// WGS84 lon/lat → pixels of one scene; `None` for a scene without georeferencing or
/// whose CRS cannot be reprojected.
pub(super) struct Locator {
    transform: GeoTransform,
    to_map: Reproject,
}

impl Locator {
    pub fn new(scene: &Scene) -> Option<Locator> {
        let g = scene.georef()?;
        Some(Locator {
            transform: g.transform,
            to_map: Reproject::between(WGS84, g.crs.proj4()?)?,
        })
    }

    /// The scene-pixel position of `ll`, or `None` when it cannot be reprojected.
    pub fn pixel(&self, ll: LonLat) -> Option<PixelPoint> {
        if !ll.is_valid() {
            return None;
        }
        let [x, y] = self.to_map.point([ll.lon, ll.lat])?;
        let px = self.transform.map_to_pixel(MapPoint { x, y })?;
        (px.x.is_finite() && px.y.is_finite()).then_some(px)
    }

    /// The pixel bounding rectangle `[x0, y0, x1, y1]` of WGS84 points, `None` when none
    /// maps.
    pub fn rect(&self, points: impl IntoIterator<Item = [f64; 2]>) -> Option<[f64; 4]> {
        bounds(points.into_iter().filter_map(|p| {
            self.pixel(LonLat {
                lon: p[0],
                lat: p[1],
            })
            .map(|q| [q.x, q.y])
        }))
    }
}

/// The bounding rectangle of points, `None` for none.
pub(super) fn bounds(points: impl IntoIterator<Item = [f64; 2]>) -> Option<[f64; 4]> {
    let mut points = points.into_iter().peekable();
    let any = points.peek().is_some();
    any.then(|| crate::geo::bounds(points))
}

fn union(a: Option<[f64; 4]>, b: [f64; 4]) -> [f64; 4] {
    match a {
        None => b,
        Some(a) => [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ],
    }
}

/// A site placed on the scene: its outline and bounding rectangle in scene pixels.
pub(super) struct Placed<'a> {
    pub site: &'a Site,
    /// The outline in scene pixels (empty when the polygon cannot be mapped).
    pub ring: Vec<[f64; 2]>,
    /// Bounding rectangle in scene pixels, `None` when the site cannot be placed.
    pub rect: Option<[f64; 4]>,
}

/// Places `site` on the scene: its polygon through `locator`; failing that (no
/// georeferencing), the pixel boxes of its member detections.
pub(super) fn place<'a>(
    site: &'a Site,
    dets: &[Detection],
    locator: Option<&Locator>,
) -> Placed<'a> {
    let ring: Vec<[f64; 2]> = locator
        .map(|l| {
            site.polygon
                .iter()
                .filter_map(|p| {
                    l.pixel(LonLat {
                        lon: p[0],
                        lat: p[1],
                    })
                })
                .map(|q| [q.x, q.y])
                .collect()
        })
        .unwrap_or_default();
    let mut rect = bounds(ring.iter().copied());
    if rect.is_none() {
        for b in site.members.iter().filter_map(|&i| dets.get(i)) {
            rect = Some(union(rect, b.pixel_box.to_array()));
        }
    }
    Placed { site, ring, rect }
}

/// The rectangle of `d` in a scene's pixels: through its WGS84 corners when `locator` is
/// given and they map, else its own pixel box.
pub(super) fn det_rect(d: &Detection, locator: Option<&Locator>) -> [f64; 4] {
    locator
        .zip(d.lonlat_polygon)
        .and_then(|(l, p)| l.rect(p))
        .unwrap_or_else(|| d.pixel_box.to_array())
}

/// Whether `p` is inside the closed or open ring `ring` (even-odd rule).
pub(super) fn inside(ring: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut c = false;
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + n - 1) % n]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            c = !c;
        }
    }
    c
}

/// Change counts per class and kind.
pub(super) type ChangeCounts = BTreeMap<String, BTreeMap<ChangeKind, usize>>;

/// The changed objects of each placed site (by index in `placed`): an object belongs to
/// a site when its WGS84 centre is inside the site's polygon or, without WGS84
/// coordinates, when its pixel centre is inside the site's pixel rectangle.
pub(super) fn change_per_site(change: &Change, placed: &[Placed<'_>]) -> Vec<ChangeCounts> {
    let mut out = vec![ChangeCounts::new(); placed.len()];
    // Each polygon's bounding box, so that most objects are ruled out in four compares.
    let boxes: Vec<Option<[f64; 4]>> = placed
        .iter()
        .map(|p| bounds(p.site.polygon.iter().copied()))
        .collect();
    for o in &change.objects {
        let centre = o.detection.lonlat_center();
        let px = o.detection.pixel_center();
        for ((counts, p), bbox) in out.iter_mut().zip(placed).zip(&boxes) {
            let hit = match (centre, bbox) {
                (Some(c), Some(b)) if p.site.polygon.len() >= 3 => {
                    let q = [c.lon, c.lat];
                    q[0] >= b[0]
                        && q[0] <= b[2]
                        && q[1] >= b[1]
                        && q[1] <= b[3]
                        && inside(&p.site.polygon, q)
                }
                _ => p.rect.is_some_and(|r| contains(r, px)),
            };
            if hit {
                *counts
                    .entry(o.detection.class_name.to_string())
                    .or_default()
                    .entry(o.change)
                    .or_default() += 1;
                break;
            }
        }
    }
    out
}

fn contains(r: [f64; 4], p: PixelPoint) -> bool {
    p.x >= r[0] && p.x <= r[2] && p.y >= r[1] && p.y <= r[3]
}

/// Whether two rectangles `[x0, y0, x1, y1]` overlap.
pub(super) fn overlaps(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_follows_the_even_odd_rule() {
        let sq = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0], [0.0, 0.0]];
        assert!(inside(&sq, [1.0, 1.0]));
        assert!(!inside(&sq, [3.0, 1.0]));
        assert!(!inside(&sq[..2], [1.0, 0.0]));
    }

    #[test]
    fn a_utm_scene_maps_wgs84_back_to_its_pixels() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/generated/utm_rgb_tiled_lzw.tif");
        let Ok(scene) = Scene::open(&path) else {
            return; // fixtures not generated: the integration tests say so
        };
        let g = scene.georef().cloned();
        let (Some(g), Some(l)) = (g, Locator::new(&scene)) else {
            panic!("the fixture is georeferenced in UTM");
        };
        let to = crate::geo::ToWgs84::new(&g.crs).ok();
        let Some(to) = to else {
            panic!("UTM reprojects")
        };
        let p = PixelPoint {
            x: 123.5,
            y: 456.25,
        };
        let ll = to.point(g.transform.pixel_to_map(p));
        let Some(q) = ll.ok().and_then(|ll| l.pixel(ll)) else {
            panic!("maps back")
        };
        assert!(
            (q.x - p.x).abs() < 1e-3 && (q.y - p.y).abs() < 1e-3,
            "{q:?}"
        );
    }
}
