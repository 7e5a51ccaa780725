//! `satdet detect` on a job of one or more scenes (journal, `--resume`, shards) and
//! `satdet merge` of shard files: one code path finishes both, so a merged result is
//! byte for byte what one process running everything writes.

use crate::detect::Args;
use crate::Warnings;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use satdet::job::{self, JobHeader, SceneEntry, Shard, TileFile, TileFileWriter};
use satdet::output::{Field, FieldType, Format, Layer, Value};
use satdet::pipeline::{TileOutcome, TileRun};
use satdet::{Detections, Error, Result, Scene};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// The journal is synced after every batch and at least every this many tiles.
const SYNC_EVERY: usize = 64;

/// Options of `satdet merge`.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The shard files (`NAME.I-of-N.tiles`) of one job, every shard once.
    #[arg(required = true, num_args = 1..)]
    shards: Vec<PathBuf>,
    /// Where to write the detections (any format `detect` writes).
    #[arg(long, short)]
    output: PathBuf,
}

/// `detect`'s options, parsed again from a tile file's recorded settings.
#[derive(Parser, Debug)]
#[command(name = "satdet detect")]
struct DetectOnly {
    #[command(flatten)]
    args: Args,
}

enum Mode {
    /// A run (or one shard) that reads tiles, with its journal.
    Detect { shard: Option<Shard> },
    /// The outcomes of every shard, per scene: nothing is read.
    Merge {
        outcomes: Vec<Vec<TileOutcome>>,
        /// The shards' header, and the first shard file (for errors): the job opened
        /// now must be the one they ran.
        expected: JobHeader,
        first: PathBuf,
    },
}

/// The shard file of shard `s` for `--output NAME.tiles`: `NAME.I-of-N.tiles`.
fn shard_path(output: &Path, s: Shard) -> Result<PathBuf> {
    let ok = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(job::TILES_EXTENSION));
    if !ok {
        return Err(Error::Config(format!(
            "{}: a shard writes a `.{}` file for `satdet merge`, give --output NAME.{}",
            output.display(),
            job::TILES_EXTENSION,
            job::TILES_EXTENSION
        )));
    }
    Ok(output.with_extension(format!(
        "{}-of-{}.{}",
        s.index + 1,
        s.count,
        job::TILES_EXTENSION
    )))
}

fn journal_path(output: &Path) -> PathBuf {
    let mut s = output.as_os_str().to_owned();
    s.push(".journal");
    PathBuf::from(s)
}

/// Runs `satdet detect`.
pub fn detect(args: Args) -> Result<()> {
    if args.shard.is_some() && args.shard_count.is_some() {
        return Err(Error::Config(
            "--shard-count goes with JOB_COMPLETION_INDEX (Kubernetes); --shard I/N names the count itself".into(),
        ));
    }
    let shard = match &args.shard {
        Some(s) => Some(Shard::parse(s)?),
        None => Shard::from_env(args.shard_count, |k| std::env::var(k).ok())?,
    };
    run_job(args, Mode::Detect { shard })
}

/// Runs `satdet merge`.
pub fn merge(m: MergeArgs) -> Result<()> {
    Format::from_path(&m.output)?;
    let mut files = Vec::new();
    for p in &m.shards {
        let f = TileFile::read(p)?;
        if !f.complete {
            return Err(Error::Journal {
                path: p.clone(),
                detail: "the shard did not finish (no END line): run it again with --resume".into(),
            });
        }
        files.push((p, f));
    }
    let (first_path, first) = &files[0];
    let Some(count) = first.header.shard.map(|s| s.count) else {
        return Err(Error::Journal {
            path: first_path.to_path_buf(),
            detail: "a whole run's journal, not a shard file".into(),
        });
    };
    let mut seen: BTreeMap<usize, &Path> = BTreeMap::new();
    let mut outcomes: Vec<Vec<TileOutcome>> = vec![Vec::new(); first.header.scenes.len()];
    for (p, f) in &files {
        if let Some(why) = first.header.mismatch(&f.header) {
            return Err(Error::Journal {
                path: p.to_path_buf(),
                detail: format!("not the job of {}: {why}", first_path.display()),
            });
        }
        let Some(s) = f.header.shard.filter(|s| s.count == count) else {
            return Err(Error::Journal {
                path: p.to_path_buf(),
                detail: format!("not one of {count} shards"),
            });
        };
        if let Some(other) = seen.insert(s.index, p) {
            return Err(Error::Journal {
                path: p.to_path_buf(),
                detail: format!("shard {s} is also {}", other.display()),
            });
        }
        for (k, t) in &f.outcomes {
            outcomes[*k].push(t.clone());
        }
    }
    if seen.len() != count {
        let missing: Vec<String> = (0..count)
            .filter(|i| !seen.contains_key(i))
            .map(|i| format!("{}/{count}", i + 1))
            .collect();
        return Err(Error::Config(format!(
            "shards missing: {} (every shard of the job is needed)",
            missing.join(", ")
        )));
    }
    let mut argv: Vec<String> = vec!["detect".into()];
    argv.extend(first.header.scenes.iter().map(|s| s.path.clone()));
    argv.push("--output".into());
    argv.push(m.output.to_string_lossy().into_owned());
    argv.extend(first.header.args.iter().cloned());
    let args = DetectOnly::try_parse_from(&argv)
        .map_err(|e| Error::Journal {
            path: first_path.to_path_buf(),
            detail: format!("its recorded settings do not parse: {e}"),
        })?
        .args;
    let mut inputs: Vec<&Path> = m.shards.iter().map(PathBuf::as_path).collect();
    inputs.extend(args.inputs.iter().map(PathBuf::as_path));
    satdet::output::check_outputs(&inputs, &[&m.output])?;
    let (expected, first) = (first.header.clone(), first_path.to_path_buf());
    run_job(
        args,
        Mode::Merge {
            outcomes,
            expected,
            first,
        },
    )
}

struct Opened {
    path: PathBuf,
    scene: Scene,
    plan: satdet::Plan,
    /// The tiles the plan reads (the area of interest's, or every tile).
    tiles: Vec<usize>,
}

type OpenResult = std::result::Result<Opened, Error>;

fn open_scene(args: &Args, path: &Path) -> Result<Scene> {
    let scene = Scene::open_with_limits(path, &args.limits())?;
    match &args.date {
        Some(d) => scene.with_acquired(d),
        None => Ok(scene),
    }
}

fn open_one(args: &Args, detector: &satdet::Detector, path: &Path) -> OpenResult {
    let scene = open_scene(args, path)?;
    let plan = detector.plan(&scene)?;
    let tiles = match &plan.aoi {
        Some(a) => a.tiles.clone(),
        None => (0..plan.grid.len()).collect(),
    };
    Ok(Opened {
        path: path.to_path_buf(),
        scene,
        plan,
        tiles,
    })
}

/// The detector and each scene opened and planned (headers only), or its error.
fn open_scenes(
    args: &Args,
    warned: &mut Warnings,
    fail_fast: bool,
) -> Result<(satdet::Detector, Vec<(PathBuf, OpenResult)>)> {
    let paths = job::expand_inputs(&args.inputs)?;
    let detector = args.detector()?;
    let mut out = Vec::new();
    for p in paths {
        let r = open_one(args, &detector, &p);
        match r {
            Ok(o) => {
                warned.print(o.scene.warnings());
                out.push((p, Ok(o)));
            }
            Err(e) if fail_fast => return Err(e),
            Err(e) => out.push((p, Err(e))),
        }
    }
    Ok((detector, out))
}

/// What a file of this job records: its identity (settings, each scene's grid (tile count,
/// tile and overlap size), size and bytes on disk, the model's and the area of interest's
/// bytes).
fn run_header(args: &Args, scenes: &[(PathBuf, OpenResult)]) -> Result<JobHeader> {
    let settings = serde_json::to_string(&args.settings()).unwrap_or_default();
    let mut parts: Vec<Vec<u8>> = vec![settings.into_bytes()];
    let mut entries = Vec::new();
    for (p, r) in scenes {
        let path = p.to_string_lossy().into_owned();
        let tiles = r.as_ref().map_or(0, |o| o.plan.grid.len());
        // The grid itself, not only its count: the same count can come from another tile
        // size (e.g. a version that matches the GSD differently).
        let grid = r.as_ref().map_or_else(
            |_| String::new(),
            |o| format!("{}+{}", o.plan.grid.tile_px(), o.plan.grid.overlap_px()),
        );
        let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let dims = r
            .as_ref()
            .map(|o| {
                format!(
                    "{}x{}x{}",
                    o.scene.width(),
                    o.scene.height(),
                    o.scene.info().bands
                )
            })
            .unwrap_or_default();
        parts.push(format!("{path}\n{tiles}\n{grid}\n{size}\n{dims}").into_bytes());
        entries.push(SceneEntry { path, tiles });
    }
    parts.push(match &args.model {
        Some(m) => std::fs::read(m).map_err(|e| Error::Io {
            path: m.clone(),
            source: e,
        })?,
        None if args.int8 => satdet::pipeline::BUNDLED_MODEL_INT8.to_vec(),
        None => satdet::pipeline::BUNDLED_MODEL.to_vec(),
    });
    if let Some(a) = &args.aoi {
        parts.push(std::fs::read(a).map_err(|e| Error::Io {
            path: a.clone(),
            source: e,
        })?);
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(JobHeader {
        fingerprint: job::fingerprint(&refs),
        args: args.settings(),
        scenes: entries,
        shard: None,
    })
}

fn run_job(args: Args, mode: Mode) -> Result<()> {
    let shard = match &mode {
        Mode::Detect { shard } => *shard,
        Mode::Merge { .. } => None,
    };
    let merging = matches!(mode, Mode::Merge { .. });
    // Every output is checked before anything is opened, read or written.
    let out_path = match shard {
        Some(s) => shard_path(&args.output, s)?,
        None => {
            Format::from_path(&args.output)?;
            args.output.clone()
        }
    };
    if let Some(q) = &args.quicklook {
        satdet::output::quicklook::format_for(q)?;
    }
    let journal = match shard {
        Some(_) => out_path.clone(),
        None => journal_path(&args.output),
    };
    let mut warned = Warnings::default();
    let (detector, scenes) = open_scenes(&args, &mut warned, args.fail_fast)?;
    if args.quicklook.is_some() && (scenes.len() > 1 || shard.is_some()) {
        return Err(Error::Config(
            "--quicklook draws one scene: run it on a single scene, without --shard".into(),
        ));
    }
    if !merging {
        let mut outputs: Vec<&Path> = vec![&out_path];
        if journal != out_path {
            outputs.push(&journal);
        }
        outputs.extend(args.quicklook.as_deref());
        let mut inputs: Vec<PathBuf> = Vec::new();
        for (p, _) in &scenes {
            inputs.extend(satdet::output::scene_files(p));
        }
        inputs.extend(args.model.clone());
        inputs.extend(args.aoi.clone());
        let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
        satdet::output::check_outputs(&refs, &outputs)?;
    }
    let info = detector.model_info();
    eprintln!(
        "{} scene(s); model: {} ({}x{}, classes {:?}{}){}",
        scenes.len(),
        info.path.display(),
        info.width,
        info.height,
        info.class_names
            .iter()
            .map(|c| c.as_ref())
            .collect::<Vec<_>>(),
        info.gsd_m
            .map(|g| format!(", trained at {g}/px"))
            .unwrap_or_default(),
        shard.map(|s| format!("; shard {s}")).unwrap_or_default()
    );
    for (p, r) in &scenes {
        if let Ok(o) = r {
            describe(&detector, o, &args, &mut warned);
        } else {
            eprintln!("scene: {} (cannot be opened)", p.display());
        }
    }

    // The tiles each scene runs here: all it plans, or this shard's part of the job.
    let planned: Vec<usize> = scenes
        .iter()
        .map(|(_, r)| r.as_ref().map_or(0, |o| o.tiles.len()))
        .collect();
    let mut mine: Vec<Vec<usize>> = Vec::with_capacity(scenes.len());
    let range = shard.map(|s| s.range(planned.iter().sum()));
    let mut offset = 0;
    for (_, r) in &scenes {
        let tiles = r.as_ref().map_or(&[][..], |o| o.tiles.as_slice());
        mine.push(match &range {
            Some(rg) => tiles
                .iter()
                .enumerate()
                .filter(|(i, _)| rg.contains(&(offset + i)))
                .map(|(_, t)| *t)
                .collect(),
            None => tiles.to_vec(),
        });
        offset += tiles.len();
    }

    // The journal: continued with --resume (a journal of another job is refused),
    // otherwise started afresh. A merge reads nothing and keeps none.
    let mut header = run_header(&args, &scenes)?;
    header.shard = shard;
    let mut done: Vec<Vec<TileOutcome>> = vec![Vec::new(); scenes.len()];
    let writer: RefCell<Option<TileFileWriter>> = RefCell::new(None);
    match mode {
        Mode::Merge {
            outcomes,
            expected,
            first,
        } => {
            // The job must be the one the shards ran: same scenes, model and settings.
            if let Some(why) = header.mismatch(&expected) {
                return Err(Error::Journal {
                    path: first,
                    detail: format!("the scenes or model changed since the shards ran: {why}"),
                });
            }
            done = outcomes;
        }
        Mode::Detect { .. } => {
            if args.resume && journal.exists() {
                let (w, found) = TileFileWriter::resume(&journal, &header)?;
                eprintln!(
                    "resuming: {} tile(s) done in {}{}",
                    found.outcomes.len(),
                    journal.display(),
                    if found.torn {
                        " (a torn last block was dropped)"
                    } else {
                        ""
                    }
                );
                for (k, t) in found.outcomes {
                    done[k].push(t);
                }
                *writer.borrow_mut() = Some(w);
            } else {
                if args.resume {
                    eprintln!("--resume: no journal at {}, starting", journal.display());
                }
                *writer.borrow_mut() = Some(TileFileWriter::create(&journal, &header)?);
            }
        }
    }
    // A merge must hold every tile the job plans, each once.
    if merging {
        for (k, (p, r)) in scenes.iter().enumerate() {
            let want: BTreeSet<usize> = r
                .as_ref()
                .map_or_else(|_| BTreeSet::new(), |o| o.tiles.iter().copied().collect());
            let have: BTreeSet<usize> = done[k].iter().map(|t| t.tile).collect();
            if want != have || have.len() != done[k].len() {
                return Err(Error::Config(format!(
                    "{}: the shards hold {} of its {} tiles (and {} it does not plan): a shard is missing or from another job",
                    p.display(),
                    want.intersection(&have).count(),
                    want.len(),
                    have.difference(&want).count()
                )));
            }
        }
    }

    let to_read: usize = mine
        .iter()
        .zip(&done)
        .map(|(m, d)| {
            let d: BTreeSet<usize> = d.iter().map(|t| t.tile).collect();
            m.iter().filter(|t| !d.contains(t)).count()
        })
        .sum();
    let bar = ProgressBar::new(to_read as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} tiles {msg} [{elapsed_precise}, eta {eta}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut base = 0u64;
    let mut results: Vec<Option<Detections>> = Vec::new();
    let mut failures: Vec<(PathBuf, String)> = Vec::new();
    for (k, (path, r)) in scenes.iter().enumerate() {
        let o = match r {
            Ok(o) => o,
            Err(e) => {
                failures.push((path.clone(), e.to_string()));
                results.push(None);
                continue;
            }
        };
        let done_here: BTreeSet<usize> = done[k].iter().map(|t| t.tile).collect();
        let tiles: Vec<usize> = mine[k]
            .iter()
            .copied()
            .filter(|t| !done_here.contains(t))
            .collect();
        if shard.is_some() && tiles.is_empty() {
            results.push(None);
            continue;
        }
        let n_here = tiles.len() as u64;
        let mut since_sync = 0usize;
        // Each scene of a job of several runs on a scene opened for its run alone, so its
        // decoded-chunk cache goes when the run ends: memory does not grow with the
        // number of scenes (the scenes opened above read their headers only).
        let fresh = if scenes.len() > 1 {
            match open_scene(&args, &o.path) {
                Ok(s) => Some(s),
                Err(e) if args.fail_fast => return Err(e),
                Err(e) => {
                    failures.push((path.clone(), e.to_string()));
                    results.push(None);
                    continue;
                }
            }
        } else {
            None
        };
        let scene = fresh.as_ref().unwrap_or(&o.scene);
        let run = TileRun {
            tiles: Some(tiles),
            done: std::mem::take(&mut done[k]),
        };
        let outcome = detector.detect_tiles(
            scene,
            run,
            |t| {
                if let Some(w) = writer.borrow_mut().as_mut() {
                    w.append(k, t)?;
                    since_sync += 1;
                    if since_sync >= SYNC_EVERY {
                        w.sync()?;
                        since_sync = 0;
                    }
                }
                Ok(())
            },
            |e| {
                if let satdet::Event::Progress(p) = e {
                    bar.set_position(base + p.tiles_done as u64);
                    bar.set_message(format!(
                        "scene {}/{}, {} candidates",
                        k + 1,
                        scenes.len(),
                        p.candidates
                    ));
                    // After every batch: what the journal holds is on disk.
                    if let Some(w) = writer.borrow_mut().as_mut() {
                        if w.sync().is_err() {
                            return ControlFlow::Break(());
                        }
                    }
                }
                ControlFlow::Continue(())
            },
        );
        base += n_here;
        if let Some(w) = writer.borrow_mut().as_mut() {
            w.sync()?;
        }
        match outcome {
            Ok(d) => results.push(Some(d)),
            Err(e) if args.fail_fast => {
                bar.finish_and_clear();
                return Err(e);
            }
            Err(e) => {
                failures.push((path.clone(), e.to_string()));
                results.push(None);
            }
        }
    }
    bar.finish_and_clear();

    if let Some(s) = shard {
        if !failures.is_empty() {
            return Err(failed(
                &failures,
                scenes.len(),
                "the shard is not finished: fix them and run it again with --resume",
            ));
        }
        let w = writer.borrow_mut().take();
        if let Some(w) = w {
            w.finish()?;
        }
        println!(
            "shard {s}: {} tile(s) of {} written to {}; join the shards with `satdet merge`",
            mine.iter().map(Vec::len).sum::<usize>(),
            planned.iter().sum::<usize>(),
            out_path.display()
        );
        return Ok(());
    }

    // One result: a single scene's as it is, several scenes merged across their overlaps.
    let ok: Vec<(usize, Detections)> = results
        .into_iter()
        .enumerate()
        .filter_map(|(k, d)| d.map(|d| (k, d)))
        .collect();
    let dets: Vec<Detections> = ok.iter().map(|(_, d)| d.clone()).collect();
    if dets.is_empty() {
        return Err(failed(
            &failures,
            scenes.len(),
            &format!(
                "no scene could be run; the journal {} is kept for --resume",
                journal.display()
            ),
        ));
    }
    let (iou, ios) = detector.merge_thresholds();
    let merged = job::merge_scenes(&dets, f64::from(iou), f64::from(ios))?;
    if scenes.len() == 1 {
        satdet::output::write_detections(&out_path, &dets[0])?;
    } else {
        let mut layer = Layer::from_detections(&merged.detections);
        layer.fields.push(Field {
            name: "scene".into(),
            kind: FieldType::Text,
        });
        for (f, &k) in layer.features.iter_mut().zip(&merged.scene_of) {
            f.values
                .push(Value::Text(dets[k].scene.to_string_lossy().into_owned()));
        }
        let list: Vec<serde_json::Value> = ok
            .iter()
            .map(|(_, d)| serde_json::Value::String(d.scene.to_string_lossy().into_owned()))
            .collect();
        layer = layer.with_metadata("scenes", serde_json::Value::Array(list).to_string());
        satdet::output::write(&out_path, &layer)?;
    }
    if let (Some(q), [d]) = (&args.quicklook, dets.as_slice()) {
        if let Some(Ok(o)) = scenes.first().map(|(_, r)| r) {
            satdet::output::quicklook::write(q, &o.scene, d, &d.report.scaling, 1600)?;
        }
    }
    if failures.is_empty() && !merging {
        // The run is complete: its journal has served.
        let _ = std::fs::remove_file(&journal);
    }
    summary(&merged, &dets, &ok, &out_path, &mut warned);
    if !failures.is_empty() {
        return Err(failed(
            &failures,
            scenes.len(),
            &format!(
                "the others were written to {}; the journal {} is kept: fix them and run again with --resume",
                out_path.display(),
                journal.display()
            ),
        ));
    }
    Ok(())
}

fn failed(failures: &[(PathBuf, String)], n: usize, then: &str) -> Error {
    let list: Vec<String> = failures
        .iter()
        .map(|(p, e)| format!("  {}: {e}", p.display()))
        .collect();
    Error::Config(format!(
        "{} of {n} scene(s) failed:\n{}\n{then}",
        failures.len(),
        list.join("\n")
    ))
}

fn describe(detector: &satdet::Detector, o: &Opened, args: &Args, warned: &mut Warnings) {
    let scene = &o.scene;
    let info = detector.model_info();
    let plan = &o.plan;
    warned.print(&plan.warnings);
    let g = plan.gsd;
    eprintln!(
        "scene: {} ({}x{}, {} bands, {}); bands fed: {}; GSD: scene {}, model {}; tiles of {} px {} to the model's {} px input{}",
        o.path.display(),
        scene.width(),
        scene.height(),
        scene.info().bands,
        scene.info().storage,
        plan.bands,
        g.scene_m.map(|m| format!("{m:.3} m")).unwrap_or_else(|| "unknown".into()),
        g.model_m.map(|m| m.to_string()).unwrap_or_else(|| "not stated".into()),
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
}

fn summary(
    merged: &job::JobDetections,
    dets: &[Detections],
    ok: &[(usize, Detections)],
    out: &Path,
    warned: &mut Warnings,
) {
    let all = &merged.detections;
    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    for d in all.iter() {
        *per_class.entry(d.class_name.as_ref()).or_default() += 1;
    }
    println!("{} detections written to {}", all.len(), out.display());
    for (c, n) in &per_class {
        println!("  {c:<12} {n}");
    }
    if dets.len() > 1 {
        for (i, (_, d)) in ok.iter().enumerate() {
            let r = &d.report;
            println!(
                "scene {}: {} detections ({} in the overlap of an earlier-ranked scene, dropped); tiles {} processed, {} skipped, {} from the journal, {} in all",
                d.scene.display(),
                d.len(),
                merged.duplicates[i],
                r.tiles_processed,
                r.tiles_skipped,
                r.tiles_resumed,
                r.tiles_total
            );
            for w in &r.warnings {
                println!("  warning: {w}");
            }
        }
    }
    let r = &all.report;
    println!(
        "tiles: {} processed, {} skipped (no data), {} from the journal, {} in all ({} px, {} px overlap)",
        r.tiles_processed, r.tiles_skipped, r.tiles_resumed, r.tiles_total, r.tile_px, r.overlap_px
    );
    if let Some(a) = r.aoi_area_km2 {
        println!(
            "area of interest: {a:.3} km²; {} tiles outside it not read, {} detections centred outside it dropped",
            r.tiles_outside_aoi, r.detections_outside_aoi
        );
    }
    if let Some(d) = &all.acquired {
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
    if dets.len() == 1 {
        warned.print(&dets[0].report.warnings);
    }
}
