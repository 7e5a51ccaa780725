//! Change counted per site.

use super::plane::wrap180;
use super::{Change, ChangeKind, Site};
use ::geo::{Contains, Coord, LineString, Point, Polygon};
use std::collections::BTreeMap;

/// The change at one site.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SiteChange {
    /// The site's [`Site::id`].
    pub site: u32,
    /// Objects per class name and change whose centre lies inside the site's polygon.
    pub counts: BTreeMap<String, BTreeMap<ChangeKind, usize>>,
}

/// Counts the objects of `change` per site, class and change: an object belongs to the
/// site whose polygon contains its box centre (the mean of its WGS84 corners, taken across
/// the antimeridian correctly); where polygons overlap, to the first such site in `sites`
/// (the lowest id, for sites as [`sites`](fn@super::sites) returns them). Objects outside
/// every site, or without a WGS84 polygon, are counted nowhere.
///
/// One entry per site, in the order of `sites`, including sites where nothing changed
/// (empty `counts`). Sites of either date may be given: with the earlier date's sites,
/// `gone` objects are counted where they were; with the later date's, `appeared` ones.
///
/// Containment is tested in degrees, longitudes taken relative to each polygon's first
/// vertex; a site's few hundred metres make the difference from a test in metres
/// negligible.
pub fn change_by_site(change: &Change, sites: &[Site]) -> Vec<SiteChange> {
    let polygons: Vec<(Polygon<f64>, [f64; 4])> = sites.iter().map(site_polygon).collect();
    let mut out: Vec<SiteChange> = sites
        .iter()
        .map(|s| SiteChange {
            site: s.id,
            counts: BTreeMap::new(),
        })
        .collect();
    for o in &change.objects {
        let Some(c) = o.detection.lonlat_polygon.as_ref().map(center) else {
            continue;
        };
        let hit = polygons.iter().position(|(poly, bbox)| {
            let lon = bbox[0] + wrap180(c[0] - bbox[0]);
            lon >= bbox[0]
                && lon <= bbox[2]
                && c[1] >= bbox[1]
                && c[1] <= bbox[3]
                && poly.contains(&Point::new(lon, c[1]))
        });
        if let Some(k) = hit {
            *out[k]
                .counts
                .entry(o.detection.class_name.to_string())
                .or_default()
                .entry(o.change)
                .or_default() += 1;
        }
    }
    out
}

/// The centre of a box's WGS84 corners, longitudes unwrapped relative to the first corner.
fn center(p: &[[f64; 2]; 4]) -> [f64; 2] {
    let lon0 = p[0][0];
    let mut s = [0.0; 2];
    for c in p {
        s[0] += lon0 + wrap180(c[0] - lon0);
        s[1] += c[1];
    }
    [s[0] / 4.0, s[1] / 4.0]
}

/// The site's polygon with continuous longitudes starting from its first vertex's, and
/// its bounding box `[min lon, min lat, max lon, max lat]`.
fn site_polygon(s: &Site) -> (Polygon<f64>, [f64; 4]) {
    let lon0 = s.polygon.first().map_or(0.0, |p| p[0]);
    let coords: Vec<Coord<f64>> = s
        .polygon
        .iter()
        .map(|p| Coord {
            x: lon0 + wrap180(p[0] - lon0),
            y: p[1],
        })
        .collect();
    let bbox = crate::geo::bounds(coords.iter().map(|c| [c.x, c.y]));
    (Polygon::new(LineString::new(coords), vec![]), bbox)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::ChangedObject;
    use crate::detection::Detection;
    use crate::geo::{LonLat, PixelBox};
    use std::sync::Arc;

    fn object(kind: ChangeKind, class: &str, lon: f64, lat: f64) -> ChangedObject {
        let (w, h) = (0.00002, 0.00001);
        ChangedObject {
            change: kind,
            detection: Detection {
                class_id: 0,
                class_name: Arc::from(class),
                score: 0.5,
                pixel_box: PixelBox::new(0.0, 0.0, 1.0, 1.0),
                oriented: None,
                map_polygon: None,
                lonlat_polygon: Some(
                    [[-w, h], [w, h], [w, -h], [-w, -h]].map(|d| [wrap180(lon + d[0]), lat + d[1]]),
                ),
            },
            before: None,
            after: None,
            distance_m: None,
        }
    }

    fn site(id: u32, ring: Vec<[f64; 2]>) -> Site {
        Site {
            id,
            polygon: ring,
            center: LonLat { lon: 0.0, lat: 0.0 },
            counts: BTreeMap::new(),
            total: 0,
            mean_score: 0.0,
            members: Vec::new(),
        }
    }

    /// A site written past 180° and objects written in [-180, 180): counted there; where
    /// two sites overlap, the first takes the object; outside every site, nowhere.
    #[test]
    fn objects_are_counted_across_the_antimeridian_and_once() {
        let square = |lon0: f64, lat0: f64, d: f64| {
            vec![
                [lon0 - d, lat0 - d],
                [lon0 + d, lat0 - d],
                [lon0 + d, lat0 + d],
                [lon0 - d, lat0 + d],
                [lon0 - d, lat0 - d],
            ]
        };
        let sites = vec![
            site(1, square(180.0, 10.0, 0.001)),
            site(2, square(180.0005, 10.0, 0.001)),
            site(3, square(20.0, 10.0, 0.001)),
        ];
        let change = Change {
            offset_m: [0.0, 0.0],
            offset_pairs: 0,
            tolerance_m: 3.0,
            objects: vec![
                object(ChangeKind::Gone, "car", -179.9996, 10.0), // in 1 and 2: counted in 1
                object(ChangeKind::Stayed, "car", 179.9993, 10.0), // in 1 only
                object(ChangeKind::Appeared, "truck", -179.9988, 10.0), // in 2 only
                object(ChangeKind::Appeared, "truck", 20.01, 10.0), // nowhere
            ],
            counts: BTreeMap::new(),
        };
        let per_site = change_by_site(&change, &sites);
        let ids: Vec<u32> = per_site.iter().map(|s| s.site).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        let one =
            |class: &str, kind: ChangeKind| -> BTreeMap<String, BTreeMap<ChangeKind, usize>> {
                [(class.to_string(), [(kind, 1)].into_iter().collect())]
                    .into_iter()
                    .collect()
            };
        let mut first = one("car", ChangeKind::Gone);
        first
            .entry("car".into())
            .or_default()
            .insert(ChangeKind::Stayed, 1);
        assert_eq!(per_site[0].counts, first);
        assert_eq!(per_site[1].counts, one("truck", ChangeKind::Appeared));
        assert!(per_site[2].counts.is_empty());
    }
}
