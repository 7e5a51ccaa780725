//! `satdet detect`: find objects in a scene and write them in any format satdet writes.

use crate::Warnings;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use satdet::{Detector, Device, Preprocess, Scene};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// Options of `satdet detect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// GeoTIFF, or PNG/JPEG with a world file.
    input: PathBuf,
    /// Where to write the detections, in WGS84; the format from the extension: `.geojson`
    /// (or `.json`), `.kml`, `.kmz`, `.csv`, `.gpkg`, `.fgb`. Written atomically; never
    /// over an input.
    #[arg(long, short)]
    output: PathBuf,
    /// Only look inside this area: a polygon, multipolygon or line in GeoJSON (WGS84
    /// unless it names its CRS) or KML. Tiles outside it are not read; detections whose
    /// centre is outside it are dropped.
    #[arg(long, value_name = "FILE")]
    aoi: Option<PathBuf>,
    /// Grow the area of interest by this many metres (needed for a line, e.g. a river's
    /// centre line).
    #[arg(
        long,
        value_name = "METRES",
        requires = "aoi",
        allow_negative_numbers = true
    )]
    aoi_buffer: Option<f64>,
    /// The scene's acquisition date (YYYY-MM-DD), overriding the file's TIFF DateTime.
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<String>,
    /// ONNX detector (default: the bundled model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Tile side in scene pixels, 8 to 16384 (default: the model's input size).
    #[arg(long, value_parser = clap::value_parser!(u32).range(8..=16384))]
    tile: Option<u32>,
    /// Overlap between tiles, as a fraction of the tile.
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    overlap: f64,
    /// Minimum confidence (default: the model's suggestion).
    #[arg(long, allow_negative_numbers = true)]
    confidence: Option<f32>,
    /// NMS IoU threshold (default: the model's suggestion).
    #[arg(long, allow_negative_numbers = true)]
    iou: Option<f32>,
    /// Tiles per inference batch, 1 to 1024 (lowered to fit memory limits, with a warning).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
    batch: u64,
    /// Preprocessing backend.
    #[arg(long, value_enum, default_value_t = PreprocessArg::Cpu)]
    preprocess: PreprocessArg,
    /// Inference device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// The scene's ground sample distance in metres per pixel, overriding the one computed
    /// from its georeferencing.
    #[arg(long, value_name = "M", allow_negative_numbers = true)]
    gsd: Option<f64>,
    /// Do not resample tiles to the model's training GSD.
    #[arg(long)]
    no_gsd_match: bool,
    /// Also write a quick-look (`.png`, `.jpg` or `.jpeg`) with the boxes drawn.
    #[arg(long)]
    quicklook: Option<PathBuf>,
}

/// Runs `satdet detect`.
pub fn run(args: Args) -> satdet::Result<()> {
    // Every output is checked before anything is opened, read or written.
    satdet::output::Format::from_path(&args.output)?;
    if let Some(q) = &args.quicklook {
        satdet::output::quicklook::format_for(q)?;
    }
    let mut outputs: Vec<&Path> = vec![&args.output];
    outputs.extend(args.quicklook.as_deref());
    let mut inputs: Vec<PathBuf> = satdet::output::scene_files(&args.input);
    inputs.extend(args.model.clone());
    inputs.extend(args.aoi.clone());
    let input_refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    satdet::output::check_outputs(&input_refs, &outputs)?;

    let mut warned = Warnings::default();
    let mut scene = Scene::open(&args.input)?;
    if let Some(d) = &args.date {
        scene = scene.with_acquired(d)?;
    }
    warned.print(scene.warnings());
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} tiles {msg} [{elapsed_precise}, eta {eta}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut b = Detector::builder()
        .overlap(args.overlap)
        .batch_size(usize::try_from(args.batch).unwrap_or(1024))
        .preprocess(match args.preprocess {
            PreprocessArg::Cpu => Preprocess::Cpu,
            PreprocessArg::Gpu => Preprocess::Gpu,
            PreprocessArg::Auto => Preprocess::Auto,
        })
        .device(match args.device {
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Cuda => Device::Cuda { device_id: 0 },
        });
    if let Some(m) = &args.model {
        b = b.model(m);
    }
    if let Some(path) = &args.aoi {
        let mut aoi = satdet::geo::Aoi::from_file(path)?;
        if let Some(m) = args.aoi_buffer {
            aoi = aoi.buffer_m(m)?;
        }
        b = b.aoi(aoi);
    }
    if let Some(g) = args.gsd {
        b = b.scene_gsd(g);
    }
    b = b.match_gsd(!args.no_gsd_match);
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
            .map(|g| format!(", trained at {g}/px"))
            .unwrap_or_default()
    );
    let plan = detector.plan(&scene)?;
    warned.print(&plan.warnings);
    let g = plan.gsd;
    eprintln!(
        "GSD: scene {}, model {}; tiles of {} px {} to the model's {} px input{}",
        g.scene_m
            .map(|m| format!("{m:.3} m"))
            .unwrap_or_else(|| "unknown".into()),
        g.model_m
            .map(|m| m.to_string())
            .unwrap_or_else(|| "not stated".into()),
        plan.grid.tile_px(),
        if (g.scale - 1.0).abs() < 1e-9 {
            "fed as they are".to_string()
        } else {
            format!("resampled x{:.3}", g.scale)
        },
        info.width.min(info.height),
        if g.matched {
            " (matched to the model's GSD)"
        } else if args.no_gsd_match {
            " (--no-gsd-match)"
        } else if args.tile.is_some() {
            " (--tile given)"
        } else {
            ""
        }
    );
    let dets = detector.detect_with(&scene, |e| {
        if let satdet::Event::Progress(p) = e {
            bar.set_length(p.tiles_total as u64);
            bar.set_position(p.tiles_done as u64);
            bar.set_message(format!(
                "{} skipped, {} candidates",
                p.tiles_skipped, p.candidates
            ));
        }
        std::ops::ControlFlow::Continue(())
    })?;
    bar.finish_and_clear();
    satdet::output::write_detections(&args.output, &dets)?;
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
    if let Some(a) = r.aoi_area_km2 {
        println!(
            "area of interest: {a:.3} km²; {} tiles outside it not read, {} detections centred outside it dropped",
            r.tiles_outside_aoi, r.detections_outside_aoi
        );
    }
    if let Some(d) = &dets.acquired {
        println!("acquired: {d}");
    }
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
            "scene area: {a:.3} km² ({:.3} km²/s)",
            a / t.total.as_secs_f64().max(1e-9)
        ),
        None => println!("area: unknown (no georeferencing or non-metric CRS)"),
    }
    warned.print(&r.warnings);
    Ok(())
}
