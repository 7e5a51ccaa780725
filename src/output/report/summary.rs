//! The report's text: the run's summary (scene, date, model, thresholds, counts per
//! class, tiles, time, warnings, the change's offset) and the table of sites.

use super::html::{self, esc};
use super::place::{ChangeCounts, Placed};
use super::{ReportInput, MAX_CHIPS};
use crate::analysis::ChangeKind;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Every class name the report mentions, with its class id when a detection gives one,
/// ordered by id (then name; names without an id last).
pub(super) fn classes(input: &ReportInput<'_>) -> Vec<(String, Option<u32>)> {
    let mut ids: BTreeMap<String, Option<u32>> = BTreeMap::new();
    let objects = input.change.map(|c| &c.objects[..]).unwrap_or_default();
    for d in input
        .detections
        .iter()
        .chain(objects.iter().map(|o| &o.detection))
    {
        ids.entry(d.class_name.to_string())
            .or_insert(Some(d.class_id));
    }
    for s in input.sites {
        for name in s.counts.keys() {
            ids.entry(name.clone()).or_insert(None);
        }
    }
    let mut out: Vec<(String, Option<u32>)> = ids.into_iter().collect();
    out.sort_by(|a, b| (a.1.is_none(), a.1, &a.0).cmp(&(b.1.is_none(), b.1, &b.0)));
    out
}

fn swatch(id: Option<u32>) -> String {
    let c = id.map(html::colour).unwrap_or([150, 150, 150]);
    format!(
        "<span class=\"swatch\" style=\"background:{}\"></span>",
        html::hex(c)
    )
}

fn row(page: &mut String, key: &str, value: &str) {
    let _ = writeln!(page, "<tr><th>{key}</th><td>{value}</td></tr>");
}

fn change_cell(c: Option<&BTreeMap<ChangeKind, usize>>) -> String {
    let n = |k| c.and_then(|m| m.get(&k)).copied().unwrap_or(0);
    format!(
        "<span class=\"chg\" title=\"appeared / gone / stayed\">+{} −{} ={}</span>",
        n(ChangeKind::Appeared),
        n(ChangeKind::Gone),
        n(ChangeKind::Stayed)
    )
}

/// The summary section.
pub(super) fn write_summary(page: &mut String, input: &ReportInput<'_>) {
    let dets = input.detections;
    let r = &dets.report;
    let scene = input.scene;
    page.push_str("<section id=\"summary\"><h2>Summary</h2><table class=\"kv\">\n");
    row(page, "Scene", &esc(&dets.scene.display().to_string()));
    let info = scene.info();
    row(
        page,
        "Size",
        &esc(&format!(
            "{} × {} pixels, {} band(s), {:?} ({})",
            info.width, info.height, info.bands, info.sample, info.storage
        )),
    );
    let crs = dets
        .crs
        .as_ref()
        .or(scene.georef().map(|g| &g.crs))
        .map(|c| c.to_string())
        .unwrap_or_else(|| "none (not georeferenced)".into());
    row(page, "CRS", &esc(&crs));
    if let Some(g) = r.gsd.scene_m {
        row(page, "Ground sample distance", &format!("{g:.2} m"));
    }
    if let Some(a) = r.area_km2.or(scene.area_km2()) {
        row(page, "Area", &format!("{a:.2} km²"));
    }
    row(
        page,
        "Acquired",
        &esc(dets.acquired.as_deref().unwrap_or("unknown")),
    );
    if let Some(b) = input.before_scene {
        row(page, "Before scene", &esc(&b.path().display().to_string()));
    }
    let model = r.model.display().to_string();
    row(
        page,
        "Model",
        &esc(if model.is_empty() { "unknown" } else { &model }),
    );
    row(
        page,
        "Thresholds",
        &format!("confidence {}, IoU {}", r.confidence, r.iou),
    );
    // Detections read back from a file carry no run statistics (only a live run's
    // report has them): say nothing rather than "0 tiles in 0 s".
    if r.tiles_total > 0 {
        row(
            page,
            "Tiles",
            &format!(
                "{} run of {} ({} skipped), {} px with {} px overlap",
                r.tiles_processed, r.tiles_total, r.tiles_skipped, r.tile_px, r.overlap_px
            ),
        );
        row(
            page,
            "Time",
            &format!("{:.1} s", r.times.total.as_secs_f64()),
        );
    }
    if let Some(a) = r.aoi_area_km2 {
        row(
            page,
            "Area of interest",
            &format!(
                "{a:.2} km² ({} tiles outside it not read, {} detections outside it dropped)",
                r.tiles_outside_aoi, r.detections_outside_aoi
            ),
        );
    }
    if !r.preprocess.is_empty() || !r.provider.is_empty() {
        row(
            page,
            "Ran on",
            &esc(&format!(
                "preprocessing {}, inference {}",
                r.preprocess, r.provider
            )),
        );
    }
    row(page, "Detections", &dets.len().to_string());
    row(page, "Sites", &input.sites.len().to_string());
    if let Some(c) = input.change {
        row(
            page,
            "Change",
            &format!(
                "offset {:.2} m east, {:.2} m north (from {} pairs); tolerance {} m",
                c.offset_m[0], c.offset_m[1], c.offset_pairs, c.tolerance_m
            ),
        );
    }
    page.push_str("</table>\n<h3>Objects per class</h3><table id=\"class-table\"><tr><th>class</th><th>detected</th>");
    if input.change.is_some() {
        page.push_str("<th>appeared</th><th>gone</th><th>stayed</th>");
    }
    page.push_str("</tr>\n");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for d in dets {
        *counts.entry(&d.class_name).or_default() += 1;
    }
    for (name, id) in classes(input) {
        let _ = write!(
            page,
            "<tr><td>{}{}</td><td class=\"n\">{}</td>",
            swatch(id),
            esc(&name),
            counts.get(name.as_str()).copied().unwrap_or(0)
        );
        if let Some(c) = input.change {
            let m = c.counts.get(&name);
            for k in [ChangeKind::Appeared, ChangeKind::Gone, ChangeKind::Stayed] {
                let n = m.and_then(|m| m.get(&k)).copied().unwrap_or(0);
                let _ = write!(page, "<td class=\"n\">{n}</td>");
            }
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n");
    let mut warnings: Vec<&String> = Vec::new();
    for w in scene.warnings().iter().chain(&r.warnings) {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    if !warnings.is_empty() {
        page.push_str("<h3>Warnings</h3><ul id=\"warnings\">");
        for w in warnings {
            let _ = write!(page, "<li class=\"warn\">{}</li>", esc(w));
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</section>\n");
}

/// The table of sites (at most [`super::MAX_TABLE_SITES`], the largest), with the change per
/// class when given.
pub(super) fn write_site_table(
    page: &mut String,
    input: &ReportInput<'_>,
    placed: &[Placed<'_>],
    change: &[ChangeCounts],
) {
    page.push_str("<section id=\"sites\"><h2>Sites</h2>\n");
    if input.sites.is_empty() {
        page.push_str("<p class=\"note\">No sites were given.</p></section>\n");
        return;
    }
    if input.sites.len() > placed.len() {
        let _ = writeln!(
            page,
            "<p class=\"note\">The {} largest of {} sites are listed.</p>",
            placed.len(),
            input.sites.len()
        );
    }
    let classes = classes(input);
    page.push_str("<table id=\"site-table\"><thead><tr><th>site</th><th>centre (lat, lon)</th><th>total</th><th>mean score</th>");
    for (name, id) in &classes {
        let _ = write!(page, "<th>{}{}</th>", swatch(*id), esc(name));
    }
    page.push_str("</tr></thead><tbody>\n");
    let mut chips = 0;
    for (i, p) in placed.iter().enumerate() {
        let s = p.site;
        let has_chip = p.rect.is_some() && chips < MAX_CHIPS;
        chips += usize::from(has_chip);
        let label = if has_chip {
            format!("<a href=\"#site-{0}\">{0}</a>", s.id)
        } else {
            s.id.to_string()
        };
        let _ = write!(
            page,
            "<tr class=\"site-row\" id=\"site-row-{}\"><td class=\"n\">{label}</td><td>{:.6}, {:.6}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td>",
            s.id, s.center.lat, s.center.lon, s.total, s.mean_score
        );
        for (name, _) in &classes {
            let n = s.counts.get(name).copied().unwrap_or(0);
            let _ = write!(page, "<td class=\"n\">{n}");
            if let Some(c) = change.get(i) {
                let _ = write!(page, "<br>{}", change_cell(c.get(name)));
            }
            page.push_str("</td>");
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody></table>\n");
    if !change.is_empty() {
        page.push_str("<p class=\"note\">Under each count: objects that appeared (+), went (−) and stayed (=) since the earlier date, counted in a site when their centre lies inside its outline.</p>\n");
    }
    page.push_str("</section>\n");
}
