//! `satdet`: the analyst's command-line program.
//!
//! ```text
//! cargo run --release --example satdet -- detect SCENE|FOLDER|LIST.txt… --output OUT.(geojson|kml|kmz|csv|gpkg|fgb)
//!     [--aoi AREA.(geojson|kml)] [--aoi-buffer M] [--date YYYY-MM-DD] [--quicklook OUT.png]
//!     [--resume] [--fail-fast] [--shard I/N --output JOB.tiles] …
//! cargo run --release --example satdet -- merge JOB.*-of-N.tiles --output OUT.(…)
//! cargo run --release --example satdet -- sites DETECTIONS --output SITES.(geojson|kml|kmz|csv|gpkg|fgb)
//!     [--eps M] [--min-objects N]
//! cargo run --release --example satdet -- compare BEFORE AFTER --output CHANGE.(…)
//!     [--tolerance M] [--sites SITES]
//! cargo run --release --example satdet -- report --detections D --scene SCENE --output report.html
//!     [--sites S] [--change C] [--before-scene SCENE]
//! ```
//! `satdet help SUBCOMMAND` lists every option. Each subcommand shows progress on long
//! work, prints a short summary, writes its outputs atomically (never over an input) and
//! exits with 0 on success, 1 on a satdet error (message on stderr), 2 on bad arguments.

use clap::{Parser, Subcommand};
use std::collections::HashSet;
use std::process::ExitCode;

#[path = "satdet/analyse.rs"]
mod analyse;
#[path = "satdet/detect.rs"]
mod detect;
#[path = "satdet/job.rs"]
mod job;
#[path = "satdet/report.rs"]
mod report;

/// Find vehicles, trucks and excavators in georeferenced rasters, group them into sites,
/// compare two dates and write a report.
#[derive(Parser, Debug)]
#[command(name = "satdet", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Detect objects in one or more scenes (one job: overlaps merged), resumable, or one
    /// shard of the job.
    Detect(detect::Args),
    /// Join the shard files of a job into its detections (identical to one run).
    Merge(job::MergeArgs),
    /// Group detections into sites (DBSCAN on ground distance).
    Sites(analyse::SitesArgs),
    /// Compare the detections of two dates: appeared, gone, stayed.
    Compare(analyse::CompareArgs),
    /// Write a self-contained HTML report with an overview and a chip per site.
    Report(report::Args),
}

/// Prints each warning once, however many places report it.
#[derive(Default)]
pub struct Warnings(HashSet<String>);

impl Warnings {
    /// Prints the warnings not printed yet.
    pub fn print(&mut self, ws: &[String]) {
        for w in ws {
            if self.0.insert(w.clone()) {
                eprintln!("warning: {w}");
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Detect(a) => detect::run(a),
        Command::Merge(a) => job::merge(a),
        Command::Sites(a) => analyse::sites(a),
        Command::Compare(a) => analyse::compare(a),
        Command::Report(a) => report::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = e.to_string();
            eprintln!("error: {message}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                // Many messages already end with their cause: say it once.
                let cause = s.to_string();
                if !message.contains(&cause) {
                    eprintln!("  caused by: {cause}");
                }
                src = s.source();
            }
            ExitCode::from(1)
        }
    }
}
