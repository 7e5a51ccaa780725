//! `satdet report`: one self-contained HTML page for an analyst.

use satdet::output;
use satdet::Scene;
use std::path::{Path, PathBuf};

/// Options of `satdet report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Detections (any format satdet writes).
    #[arg(long)]
    detections: PathBuf,
    /// Sites (from `satdet sites`).
    #[arg(long)]
    sites: Option<PathBuf>,
    /// Change (from `satdet compare`).
    #[arg(long)]
    change: Option<PathBuf>,
    /// The scene the detections come from.
    #[arg(long)]
    scene: PathBuf,
    /// The earlier date's scene, for chips side by side.
    #[arg(long)]
    before_scene: Option<PathBuf>,
    /// The HTML file to write.
    #[arg(long, short)]
    output: PathBuf,
}

/// Runs `satdet report`.
pub fn run(a: Args) -> satdet::Result<()> {
    let mut inputs: Vec<PathBuf> = vec![a.detections.clone()];
    inputs.extend(a.sites.clone());
    inputs.extend(a.change.clone());
    inputs.extend(output::scene_files(&a.scene));
    if let Some(b) = &a.before_scene {
        inputs.extend(output::scene_files(b));
    }
    let ext = a
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("html" | "htm")) {
        return Err(satdet::Error::Config(format!(
            "{}: the report is an HTML file: give it a .html or .htm name",
            a.output.display()
        )));
    }
    let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    output::check_outputs(&refs, &[&a.output])?;
    eprintln!("reading the detections, sites and change");
    let dets = output::read_detections(&a.detections)?;
    let sites = a.sites.as_deref().map(output::read_sites).transpose()?;
    let change = a.change.as_deref().map(output::read_change).transpose()?;
    let scene = Scene::open(&a.scene)?;
    if dets.scene.file_name() != a.scene.file_name() {
        eprintln!(
            "warning: the detections are of {}, not of {}: their boxes may not fall on this scene",
            dets.scene.display(),
            a.scene.display()
        );
    }
    let before = a.before_scene.as_deref().map(Scene::open).transpose()?;
    eprintln!("drawing the overview and the site chips");
    let mut input = output::report::ReportInput::new(&dets, &scene);
    if let Some(s) = &sites {
        input = input.with_sites(s);
    }
    if let Some(c) = &change {
        input = input.with_change(c);
    }
    if let Some(b) = &before {
        input = input.with_before_scene(b);
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} pictures [{elapsed_precise}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    output::report::write_with_progress(&a.output, &input, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    println!(
        "report written to {} ({} detections, {} sites{})",
        a.output.display(),
        dets.len(),
        sites.as_ref().map_or(0, Vec::len),
        if change.is_some() {
            ", with change"
        } else {
            ""
        }
    );
    Ok(())
}
