//! `satdet sites` and `satdet compare`: from detection files to sites and changes.

use satdet::analysis::{self, ChangeKind};
use satdet::output::{self, Format};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `satdet sites`.
#[derive(clap::Args, Debug)]
pub struct SitesArgs {
    /// Detections, in any format satdet writes.
    detections: PathBuf,
    /// Where to write the sites; the format from the extension (`.geojson`, `.kml`,
    /// `.kmz`, `.csv`, `.gpkg`, `.fgb`).
    #[arg(long, short)]
    output: PathBuf,
    /// Largest ground distance in metres between neighbouring objects of one site.
    #[arg(long, value_name = "METRES", default_value_t = analysis::DEFAULT_EPS_M, allow_negative_numbers = true)]
    eps: f64,
    /// Also write the detections with their site: a `site` column (empty outside every
    /// site) and, in KML/KMZ, one folder per site holding its objects.
    #[arg(long, value_name = "FILE")]
    detections_output: Option<PathBuf>,
    /// Fewest objects that make a site.
    #[arg(long, value_name = "N", default_value_t = analysis::DEFAULT_MIN_OBJECTS)]
    min_objects: usize,
}

/// Options of `satdet compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Detections of the earlier date, in any format satdet writes.
    before: PathBuf,
    /// Detections of the later date.
    after: PathBuf,
    /// Where to write the change; the format from the extension.
    #[arg(long, short)]
    output: PathBuf,
    /// Largest distance in metres between one object on the two dates, after removing the
    /// global offset between them.
    #[arg(long, value_name = "METRES", default_value_t = analysis::DEFAULT_TOLERANCE_M, allow_negative_numbers = true)]
    tolerance: f64,
    /// Sites (from `satdet sites`) to count the changes in.
    #[arg(long, value_name = "SITES")]
    sites: Option<PathBuf>,
}

/// Checks the output's format and that it is none of the inputs, before reading anything.
fn check(inputs: &[&Path], output: &Path) -> satdet::Result<()> {
    Format::from_path(output)?;
    output::check_outputs(inputs, &[output])
}

/// Detections read from `path`, every one with a WGS84 position (sites and changes are
/// measured on the ground): else an error naming the file.
fn read_placed(path: &Path) -> satdet::Result<satdet::Detections> {
    let dets = output::read_detections(path)?;
    let missing = dets.iter().filter(|d| d.lonlat_polygon.is_none()).count();
    if missing > 0 {
        return Err(satdet::Error::ResultsFile {
            path: path.to_path_buf(),
            detail: format!(
                "{missing} of its {} detections have no WGS84 geometry (a scene without usable georeferencing?): sites and changes are measured on the ground",
                dets.len()
            ),
        });
    }
    Ok(dets)
}

/// Runs `satdet sites`.
pub fn sites(a: SitesArgs) -> satdet::Result<()> {
    check(&[&a.detections], &a.output)?;
    if let Some(o) = &a.detections_output {
        check(&[&a.detections], o)?;
        output::check_outputs(&[&a.detections], &[&a.output, o])?;
    }
    eprintln!("reading {}", a.detections.display());
    let dets = read_placed(&a.detections)?;
    eprintln!(
        "clustering {} detections (eps {} m, at least {} objects)",
        dets.len(),
        a.eps,
        a.min_objects
    );
    let sites = analysis::sites(&dets, a.eps, a.min_objects)?;
    output::write(&a.output, &output::Layer::sites(&sites, &dets))?;
    if let Some(o) = &a.detections_output {
        output::write(o, &output::Layer::from_detections_with_sites(&dets, &sites))?;
        println!("detections with their sites written to {}", o.display());
    }
    let in_sites: usize = sites.iter().map(|s| s.total).sum();
    println!(
        "{} sites written to {} ({} of {} detections in sites)",
        sites.len(),
        a.output.display(),
        in_sites,
        dets.len()
    );
    for s in sites.iter().take(10) {
        println!(
            "  site {:>3}: {:>4} objects ({}) at {:.5}, {:.5}",
            s.id,
            s.total,
            counts_text(&s.counts),
            s.center.lat,
            s.center.lon
        );
    }
    if sites.len() > 10 {
        println!("  … {} more in {}", sites.len() - 10, a.output.display());
    }
    Ok(())
}

/// Runs `satdet compare`.
pub fn compare(a: CompareArgs) -> satdet::Result<()> {
    let mut inputs: Vec<&Path> = vec![&a.before, &a.after];
    inputs.extend(a.sites.as_deref());
    check(&inputs, &a.output)?;
    eprintln!("reading {} and {}", a.before.display(), a.after.display());
    let before = read_placed(&a.before)?;
    let after = read_placed(&a.after)?;
    let sites = a.sites.as_deref().map(output::read_sites).transpose()?;
    eprintln!(
        "matching {} and {} detections (tolerance {} m)",
        before.len(),
        after.len(),
        a.tolerance
    );
    let change = analysis::compare(&before, &after, a.tolerance)?;
    output::write(&a.output, &output::Layer::change(&change, &before, &after))?;
    println!(
        "{} objects written to {}; offset of the later date {:+.2} m east, {:+.2} m north (from {} pairs)",
        change.objects.len(),
        a.output.display(),
        change.offset_m[0],
        change.offset_m[1],
        change.offset_pairs
    );
    if change.offset_pairs == 0 && !before.is_empty() && !after.is_empty() {
        eprintln!(
            "warning: no offset between the dates could be estimated (fewer than {} pairs of the same class within {} m): none was applied; the two files may not cover the same place, or be misregistered by more than that",
            analysis::MIN_OFFSET_PAIRS,
            analysis::OFFSET_SEARCH_M
        );
    }
    print_change_counts("  ", &change.counts);
    if let Some(sites) = &sites {
        for sc in analysis::change_by_site(&change, sites) {
            println!("  site {}:", sc.site);
            print_change_counts("    ", &sc.counts);
        }
    }
    Ok(())
}

fn counts_text(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(c, n)| format!("{n} {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_change_counts(indent: &str, counts: &BTreeMap<String, BTreeMap<ChangeKind, usize>>) {
    for (class, by_kind) in counts {
        let n = |k| by_kind.get(&k).copied().unwrap_or(0);
        println!(
            "{indent}{class:<12} appeared {:>4}, gone {:>4}, stayed {:>4}",
            n(ChangeKind::Appeared),
            n(ChangeKind::Gone),
            n(ChangeKind::Stayed)
        );
    }
}
