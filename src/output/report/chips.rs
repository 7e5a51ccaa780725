//! A picture of each of the largest sites: the scene around it (its rectangle plus a
//! margin, square, resampled to [`CHIP_PX`]) with its boxes drawn, and the same ground on
//! the before scene beside it.

use super::html::{self, esc};
use super::place::{self, Locator, Placed};
use super::raster::{self, View};
use super::{ReportInput, CHIP_PX, MAX_CHIPS};
use crate::analysis::ChangeKind;
use crate::error::Result;
use crate::geo::{GeoTransform, LonLat, PixelPoint, ToWgs84};
use crate::raster::{Scaling, Scene};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

/// Boxes drawn on one picture at most (a dense site still gives a page of bounded size).
const MAX_CHIP_BOXES: usize = 2000;
/// A picture covers at least this many scene pixels on each side, so that a site of one
/// or two vehicles is shown with its surroundings.
const MIN_WINDOW_PX: f64 = 64.0;

/// The before scene, how to find places on it and how to show it.
struct Before<'a> {
    scene: &'a Scene,
    locator: Option<Locator>,
    scaling: Scaling,
    /// Its bands shown as red, green and blue: those asked for in the run (the same
    /// delivery twice, most likely), else its own.
    bands: [u16; 3],
}

/// Scene pixels → WGS84 for the detections' scene.
struct ToLonLat {
    transform: GeoTransform,
    to: ToWgs84,
}

impl ToLonLat {
    fn new(scene: &Scene) -> Option<ToLonLat> {
        let g = scene.georef()?;
        Some(ToLonLat {
            transform: g.transform,
            to: ToWgs84::new(&g.crs).ok()?,
        })
    }

    /// The four corners of a pixel rectangle in WGS84 `[lon, lat]`.
    fn corners(&self, r: [f64; 4]) -> Option<Vec<[f64; 2]>> {
        [[r[0], r[1]], [r[2], r[1]], [r[2], r[3]], [r[0], r[3]]]
            .iter()
            .map(|c| {
                let m = self.transform.pixel_to_map(PixelPoint { x: c[0], y: c[1] });
                self.to.point(m).ok().map(|ll| [ll.lon, ll.lat])
            })
            .collect()
    }
}

/// The square window around a site's rectangle: a quarter of its long side (at least 16
/// pixels) of margin, at least [`MIN_WINDOW_PX`] on a side.
fn window(r: [f64; 4]) -> [f64; 4] {
    let side = (r[2] - r[0]).max(r[3] - r[1]);
    let half = (side / 2.0 + (side / 4.0).max(16.0)).max(MIN_WINDOW_PX / 2.0);
    let (cx, cy) = ((r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0);
    [cx - half, cy - half, cx + half, cy + half]
}

fn view_rect(view: &View, r: [f64; 4]) -> [f64; 4] {
    let (x0, y0) = view.out_of(r[0], r[1]);
    let (x1, y1) = view.out_of(r[2], r[3]);
    [x0, y0, x1, y1]
}

/// The section of site pictures.
pub(super) fn write_chips(
    page: &mut String,
    input: &ReportInput<'_>,
    placed: &[Placed<'_>],
    locator: Option<&Locator>,
    path: &Path,
    done: &mut dyn FnMut(usize),
) -> Result<()> {
    page.push_str("<section id=\"chips\"><h2>Sites up close</h2>\n");
    let shown: Vec<&Placed<'_>> = placed.iter().filter(|p| p.rect.is_some()).collect();
    if shown.len() > MAX_CHIPS {
        let _ = writeln!(
            page,
            "<p class=\"note\">Pictures of the {MAX_CHIPS} largest of {} sites.</p>",
            shown.len()
        );
    }
    if shown.len() < placed.len() {
        let _ = writeln!(
            page,
            "<p class=\"note\">{} site(s) could not be placed on the scene (no georeferencing and no member detections).</p>",
            placed.len() - shown.len()
        );
    }
    if shown.is_empty() {
        page.push_str("<p class=\"note\">No site to show.</p>");
    }
    let scaling = super::scaling_of(input.scene, input.detections)?;
    let before = match input.before_scene {
        Some(b) => Some(Before {
            scene: b,
            locator: Locator::new(b),
            scaling: raster::display_scaling(b, None)?,
            bands: crate::output::display_bands(
                b,
                Some(&input.detections.report.bands)
                    .filter(|r| r.from == crate::detection::BandsFrom::Asked),
            ),
        }),
        None => None,
    };
    let to_lonlat = ToLonLat::new(input.scene);
    let appeared: HashSet<usize> = input
        .change
        .map(|c| {
            c.objects
                .iter()
                .filter(|o| o.change == ChangeKind::Appeared)
                .filter_map(|o| o.after)
                .collect()
        })
        .unwrap_or_default();
    for (i, p) in shown.into_iter().take(MAX_CHIPS).enumerate() {
        let Some(r) = p.rect else { continue };
        let s = p.site;
        let counts: Vec<String> = s.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = write!(
            page,
            "<div class=\"site\" id=\"site-{}\"><h3>Site {}: {} objects</h3><p>{} · centre {:.6}, {:.6} · mean score {:.2}</p><div class=\"pair\">",
            s.id,
            s.id,
            s.total,
            esc(&counts.join(", ")),
            s.center.lat,
            s.center.lon,
            s.mean_score
        );
        let win = window(r);
        after_chip(page, input, p, win, &scaling, &appeared, path)?;
        if let Some(b) = &before {
            before_chip(page, input, b, win, to_lonlat.as_ref(), locator, path)?;
        }
        page.push_str("</div></div>\n");
        done(i + 1);
    }
    page.push_str("</section>\n");
    Ok(())
}

/// The site on the detections' scene: every detection in view in its class colour
/// (dashed when it appeared since the earlier date), the site's outline in yellow.
fn after_chip(
    page: &mut String,
    input: &ReportInput<'_>,
    p: &Placed<'_>,
    win: [f64; 4],
    scaling: &Scaling,
    appeared: &HashSet<usize>,
    path: &Path,
) -> Result<()> {
    let view = View::fit(win, CHIP_PX);
    let bands = crate::output::display_bands(input.scene, Some(&input.detections.report.bands));
    let img = raster::render(input.scene, scaling, bands, &view)?;
    let mut overlay = String::new();
    if p.ring.len() >= 3 {
        let ring: Vec<[f64; 2]> = p
            .ring
            .iter()
            .map(|q| {
                let (x, y) = view.out_of(q[0], q[1]);
                [x, y]
            })
            .collect();
        overlay.push_str("<polygon class=\"site-outline\" fill=\"none\" stroke=\"#ffe000\" stroke-width=\"1\" stroke-dasharray=\"6 4\" points=\"");
        for q in ring {
            let _ = write!(overlay, "{:.1},{:.1} ", q[0], q[1]);
        }
        overlay.push_str("\"/>");
    }
    let mut n = 0usize;
    for (i, d) in input.detections.iter().enumerate() {
        let r = d.pixel_box.to_array();
        if !place::overlaps(r, win) {
            continue;
        }
        n += 1;
        if n <= MAX_CHIP_BOXES {
            let dashed = appeared.contains(&i);
            match &d.oriented {
                Some(o) => {
                    let ring = o.corners().map(|p| {
                        let (x, y) = view.out_of(p.x, p.y);
                        [x, y]
                    });
                    html::svg_polygon(&mut overlay, &ring, html::colour(d.class_id), dashed, "box");
                }
                None => html::svg_rect(
                    &mut overlay,
                    view_rect(&view, r),
                    html::colour(d.class_id),
                    dashed,
                    "box",
                ),
            }
        }
    }
    let date = input.detections.acquired.as_deref().unwrap_or("this date");
    let uri = raster::jpeg_data_uri(&img, path)?;
    page.push_str("<figure>");
    html::figure(
        page,
        "chip-after",
        &uri,
        (view.width, view.height),
        &format!("site {} on {date}", p.site.id),
        &overlay,
    );
    let capped = if n > MAX_CHIP_BOXES {
        format!(" (the first {MAX_CHIP_BOXES} drawn)")
    } else {
        String::new()
    };
    let dashed = if appeared.is_empty() {
        ""
    } else {
        "; dashed: appeared since the earlier date"
    };
    let _ = write!(
        page,
        "<figcaption>{}: {n} objects in view{capped}{dashed}</figcaption></figure>",
        esc(date)
    );
    Ok(())
}

/// `poly` (WGS84) moved back by the change's global offset (metres east, north; a few
/// metres, so a local degrees-per-metre scale is exact enough for drawing).
fn without_offset(
    mut poly: [[f64; 2]; 4],
    change: Option<&crate::analysis::Change>,
) -> [[f64; 2]; 4] {
    let Some(c) = change.filter(|c| c.offset_pairs > 0) else {
        return poly;
    };
    let lat = poly.iter().map(|p| p[1]).sum::<f64>() / 4.0;
    const M_PER_DEG: f64 = 111_320.0;
    let cos = lat.to_radians().cos().max(1e-6);
    for p in &mut poly {
        p[0] -= c.offset_m[0] / (M_PER_DEG * cos);
        p[1] -= c.offset_m[1] / M_PER_DEG;
    }
    poly
}

/// The same ground on the before scene (through WGS84 when both scenes are
/// georeferenced, else the same pixel window): objects gone since (dashed) and stayed
/// (solid), in their class colours.
fn before_chip(
    page: &mut String,
    input: &ReportInput<'_>,
    before: &Before<'_>,
    win: [f64; 4],
    to_lonlat: Option<&ToLonLat>,
    locator: Option<&Locator>,
    path: &Path,
) -> Result<()> {
    let name = before
        .scene
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bwin = match (to_lonlat, before.locator.as_ref()) {
        (Some(t), Some(l)) => t.corners(win).and_then(|c| l.rect(c)),
        (None, None) => Some(win),
        _ => None,
    };
    page.push_str("<figure>");
    let Some(bwin) = bwin else {
        let _ = write!(
            page,
            "<figcaption class=\"warn\">before ({}): this place cannot be located on it (one of the two scenes is not georeferenced)</figcaption></figure>",
            esc(&name)
        );
        return Ok(());
    };
    let view = View::fit(bwin, CHIP_PX);
    let img = raster::render(before.scene, &before.scaling, before.bands, &view)?;
    let mut overlay = String::new();
    let (mut gone, mut stayed) = (0usize, 0usize);
    let objects = input.change.map(|c| &c.objects[..]).unwrap_or_default();
    for o in objects {
        let r = match o.change {
            ChangeKind::Gone => place::det_rect(&o.detection, before.locator.as_ref()),
            ChangeKind::Stayed => match (before.locator.as_ref(), o.detection.lonlat_polygon) {
                // A stayed object carries the later date's geometry: take the global
                // offset between the dates off, so its box sits on the earlier image.
                (Some(l), Some(poly)) => match l.rect(without_offset(poly, input.change)) {
                    Some(r) => r,
                    None => continue,
                },
                // Neither scene georeferenced: the same pixels on both dates.
                _ if locator.is_none() => o.detection.pixel_box.to_array(),
                _ => continue,
            },
            ChangeKind::Appeared => continue,
        };
        if !place::overlaps(r, bwin) || gone + stayed >= MAX_CHIP_BOXES {
            continue;
        }
        let is_gone = o.change == ChangeKind::Gone;
        gone += usize::from(is_gone);
        stayed += usize::from(!is_gone);
        // An oriented object is drawn as its footprint on the earlier image.
        let ring = o.detection.oriented.and_then(|_| {
            let corners = |poly: [[f64; 2]; 4]| -> Option<[[f64; 2]; 4]> {
                let l = before.locator.as_ref()?;
                let mut out = [[0.0; 2]; 4];
                for (q, c) in out.iter_mut().zip(poly) {
                    let p = l.pixel(LonLat {
                        lon: c[0],
                        lat: c[1],
                    })?;
                    *q = [p.x, p.y];
                }
                Some(out)
            };
            match (o.change, o.detection.lonlat_polygon) {
                (ChangeKind::Gone, Some(poly)) => corners(poly),
                (ChangeKind::Stayed, Some(poly)) => corners(without_offset(poly, input.change)),
                _ if locator.is_none() => Some(o.detection.pixel_polygon().map(|p| [p.x, p.y])),
                _ => None,
            }
        });
        let colour = html::colour(o.detection.class_id);
        match ring {
            Some(ring) => {
                let ring = ring.map(|q| {
                    let (x, y) = view.out_of(q[0], q[1]);
                    [x, y]
                });
                html::svg_polygon(&mut overlay, &ring, colour, is_gone, "box");
            }
            None => html::svg_rect(&mut overlay, view_rect(&view, r), colour, is_gone, "box"),
        }
    }
    let uri = raster::jpeg_data_uri(&img, path)?;
    html::figure(
        page,
        "chip-before",
        &uri,
        (view.width, view.height),
        &format!("the same place on the before scene {name}"),
        &overlay,
    );
    let what = if input.change.is_some() {
        format!(": {gone} gone (dashed), {stayed} stayed")
    } else {
        String::new()
    };
    let _ = write!(
        page,
        "<figcaption>before ({}){what}</figcaption></figure>",
        esc(&name)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_square_with_a_margin_and_a_minimum() {
        let w = window([100.0, 100.0, 200.0, 140.0]);
        assert_eq!(w, [75.0, 45.0, 225.0, 195.0]);
        let w = window([10.0, 10.0, 12.0, 12.0]);
        assert_eq!(w[2] - w[0], MIN_WINDOW_PX);
    }
}
