//! `detect`: find vehicles in a georeferenced raster and write GeoJSON.
//!
//! ```text
//! cargo run --release --example detect -- INPUT --output OUT.geojson [--model PATH]
//!     [--tile N] [--overlap F] [--confidence F] [--iou F] [--batch N]
//!     [--preprocess cpu|gpu|auto] [--device cpu|cuda] [--quicklook OUT.png]
//! ```
//! Without `--model` it runs the bundled `models/satdet-vehicles.onnx`. It prints a
//! summary: detections per class, tiles processed and skipped, time per stage, km²
//! covered. Exit codes: 0 success, 1 a satdet error (message on stderr), 2 bad arguments.

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use satdet::{Detector, Device, Preprocess, Scene};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PreprocessArg {
    Cpu,
    Gpu,
    Auto,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DeviceArg {
    Cpu,
    Cuda,
}

/// Find vehicles, trucks and excavators in a georeferenced raster.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// GeoTIFF, or PNG/JPEG with a world file.
    input: PathBuf,
    /// Where to write the detections (GeoJSON, WGS84).
    #[arg(long, short)]
    output: PathBuf,
    /// ONNX detector (default: the bundled model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Tile side in scene pixels (default: the model's input size).
    #[arg(long)]
    tile: Option<u32>,
    /// Overlap between tiles, as a fraction of the tile.
    #[arg(long, default_value_t = 0.2)]
    overlap: f64,
    /// Minimum confidence (default: the model's suggestion).
    #[arg(long)]
    confidence: Option<f32>,
    /// NMS IoU threshold (default: the model's suggestion).
    #[arg(long)]
    iou: Option<f32>,
    /// Tiles per inference batch.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Preprocessing backend.
    #[arg(long, value_enum, default_value_t = PreprocessArg::Cpu)]
    preprocess: PreprocessArg,
    /// Inference device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// Also write a PNG quick-look with the boxes drawn.
    #[arg(long)]
    quicklook: Option<PathBuf>,
}

fn run(args: Args) -> satdet::Result<()> {
    let scene = Scene::open(&args.input)?;
    for w in scene.warnings() {
        eprintln!("warning: {w}");
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} tiles {msg} [{elapsed_precise}, eta {eta}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let pb = bar.clone();
    let mut b = Detector::builder()
        .overlap(args.overlap)
        .batch_size(args.batch)
        .preprocess(match args.preprocess {
            PreprocessArg::Cpu => Preprocess::Cpu,
            PreprocessArg::Gpu => Preprocess::Gpu,
            PreprocessArg::Auto => Preprocess::Auto,
        })
        .device(match args.device {
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Cuda => Device::Cuda { device_id: 0 },
        })
        .progress(move |p| {
            pb.set_length(p.tiles_total as u64);
            pb.set_position(p.tiles_done as u64);
            pb.set_message(format!(
                "{} skipped, {} candidates",
                p.tiles_skipped, p.candidates
            ));
        });
    if let Some(m) = &args.model {
        b = b.model(m);
    }
    if let Some(t) = args.tile {
        b = b.tile_size(t);
    }
    if let Some(c) = args.confidence {
        b = b.confidence(c);
    }
    if let Some(i) = args.iou {
        b = b.iou(i);
    }
    let detector = b.build()?;
    let info = detector.model_info();
    eprintln!(
        "scene: {} ({}x{}, {} bands, {}); model: {} ({}x{}, classes {:?}{})",
        args.input.display(),
        scene.width(),
        scene.height(),
        scene.info().bands,
        scene.info().storage,
        info.path.display(),
        info.width,
        info.height,
        info.class_names
            .iter()
            .map(|c| c.as_ref())
            .collect::<Vec<_>>(),
        info.gsd_m
            .as_deref()
            .map(|g| format!(", trained at {g} m/px"))
            .unwrap_or_default()
    );
    let dets = detector.detect(&scene)?;
    bar.finish_and_clear();
    satdet::output::geojson::write(&args.output, &dets)?;
    if let Some(q) = &args.quicklook {
        satdet::output::quicklook::write(q, &scene, &dets, &dets.report.scaling, 1600)?;
    }

    let r = &dets.report;
    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &dets {
        *per_class.entry(d.class_name.as_ref()).or_default() += 1;
    }
    println!(
        "{} detections written to {}",
        dets.len(),
        args.output.display()
    );
    for (c, n) in &per_class {
        println!("  {c:<12} {n}");
    }
    println!(
        "tiles: {} processed, {} skipped (no data), {} in all ({} px, {} px overlap)",
        r.tiles_processed, r.tiles_skipped, r.tiles_total, r.tile_px, r.overlap_px
    );
    println!(
        "preprocessing: {}; inference: onnxruntime {} ({})",
        r.preprocess,
        r.provider,
        r.runtime.display()
    );
    let t = &r.times;
    println!(
        "time: total {:.2} s; busy per stage: stretch {:.2} s, read {:.2} s, preprocess {:.2} s, inference {:.2} s, postprocess {:.2} s",
        t.total.as_secs_f64(),
        t.stretch.as_secs_f64(),
        t.read.as_secs_f64(),
        t.preprocess.as_secs_f64(),
        t.inference.as_secs_f64(),
        t.postprocess.as_secs_f64()
    );
    match r.area_km2 {
        Some(a) => println!(
            "area: {a:.3} km² ({:.3} km²/s)",
            a / t.total.as_secs_f64().max(1e-9)
        ),
        None => println!("area: unknown (no georeferencing or non-metric CRS)"),
    }
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            ExitCode::from(1)
        }
    }
}
