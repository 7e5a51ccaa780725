//! Jobs of several scenes, resumable runs and shards, through the `satdet` program:
//! what a single uninterrupted run writes is the reference, byte for byte.

mod common;

use common::{fixture, satdet, satdet_bin};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn model() -> String {
    fixture("two_class_detector.onnx")
        .to_string_lossy()
        .into_owned()
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "satdet failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `gdal_translate`/`gdalwarp`, the oracle's tools, to cut scenes out of a fixture.
fn gdal(tool: &str, args: &[&str]) {
    let out = Command::new(tool)
        .args(args)
        .output()
        .expect("run GDAL (apt install gdal-bin)");
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two overlapping strips of `date1.tif` (2000 x 1200 px, UTM 33N): columns 0-1200 and
/// 800-2000, and the second warped to UTM 32N (another CRS, other pixels: nearest
/// neighbour, since the fixture detector wants sharp squares; it finds 6 of the 7 objects
/// there).
fn strips(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let src = s(&fixture("date1.tif"));
    let a = dir.join("strip_a.tif");
    let b = dir.join("strip_b.tif");
    let b32 = dir.join("strip_b_32632.tif");
    gdal(
        "gdal_translate",
        &["-q", "-srcwin", "0", "0", "1200", "1200", &src, &s(&a)],
    );
    gdal(
        "gdal_translate",
        &["-q", "-srcwin", "800", "0", "1200", "1200", &src, &s(&b)],
    );
    gdal(
        "gdalwarp",
        &[
            "-q",
            "-t_srs",
            "EPSG:32632",
            "-tr",
            "0.5",
            "0.5",
            "-r",
            "near",
            "-dstnodata",
            "0",
            &s(&b),
            &s(&b32),
        ],
    );
    (a, b, b32)
}

/// Feature centres (lon, lat) and properties of a GeoJSON output.
fn features(path: &Path) -> Vec<([f64; 2], serde_json::Value)> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("output")).expect("GeoJSON");
    v["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            let ring = f["geometry"]["coordinates"][0].as_array().expect("ring");
            let n = (ring.len() - 1) as f64;
            let c = ring[..ring.len() - 1].iter().fold([0.0, 0.0], |acc, p| {
                [
                    acc[0] + p[0].as_f64().unwrap() / n,
                    acc[1] + p[1].as_f64().unwrap() / n,
                ]
            });
            (c, f["properties"].clone())
        })
        .collect()
}

fn metres(a: [f64; 2], b: [f64; 2]) -> f64 {
    let dy = (a[1] - b[1]) * 111_320.0;
    let dx = (a[0] - b[0]) * 111_320.0 * a[1].to_radians().cos();
    dx.hypot(dy)
}

#[test]
fn overlapping_scenes_in_two_crss_report_each_object_once() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, b32) = strips(dir.path());
    let whole = dir.path().join("whole.geojson");
    ok(&satdet(&[
        "detect",
        &s(&fixture("date1.tif")),
        "--model",
        &model(),
        "-o",
        &s(&whole),
    ]));
    let truth = features(&whole);
    assert!(truth.len() >= 10, "{}", truth.len());
    // Objects the two strips both see (x 800-1200 px of the scene: 400 400-400 600 m E).
    let in_overlap = truth
        .iter()
        .filter(|(_, p)| {
            let x0 = p["pixel_bbox"][0].as_f64().expect("pixel_bbox");
            let x1 = p["pixel_bbox"][2].as_f64().expect("pixel_bbox");
            x0 < 1200.0 && x1 > 800.0
        })
        .count();
    assert!(
        in_overlap >= 2,
        "the fixture needs objects in the overlap, found {in_overlap}"
    );
    for second in [&b, &b32] {
        let out = dir.path().join("job.geojson");
        let run = satdet(&[
            "detect",
            &s(&a),
            &s(second),
            "--model",
            &model(),
            "-o",
            &s(&out),
        ]);
        ok(&run);
        let got = features(&out);
        let warped = second == &b32;
        if !warped {
            assert_eq!(got.len(), truth.len(), "with {}: {got:?}", second.display());
        }
        for (c, p) in &truth {
            let near = got.iter().filter(|(g, _)| metres(*g, *c) < 1.5).count();
            // Objects only the warped strip sees may be missed by the fixture detector
            // there; none is ever reported twice.
            let only_in_b = p["pixel_bbox"][0].as_f64().unwrap() >= 1200.0;
            if warped && only_in_b {
                assert!(near <= 1, "object at {c:?} reported {near} times");
            } else {
                assert_eq!(near, 1, "object at {c:?} with {}", second.display());
            }
        }
        for (i, (g, p)) in got.iter().enumerate() {
            for (h, q) in &got[i + 1..] {
                assert!(
                    metres(*g, *h) > 1.5 || p["class"] != q["class"],
                    "a duplicate at {g:?}"
                );
            }
        }
        // Every detection says which scene it comes from; both scenes contribute.
        let scenes: std::collections::BTreeSet<String> = got
            .iter()
            .map(|(_, p)| p["scene"].as_str().expect("scene field").to_owned())
            .collect();
        assert_eq!(scenes.len(), 2, "{scenes:?}");
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            stdout.contains("in the overlap of an earlier-ranked scene"),
            "{stdout}"
        );
    }
    // The map coordinates are all in the first scene's CRS: the same box as in the whole
    // scene's run (UTM 33N), also for objects found in the UTM 32N strip.
    let out = dir.path().join("job.csv");
    ok(&satdet(&[
        "detect",
        &s(&a),
        &s(&b32),
        "--model",
        &model(),
        "-o",
        &s(&out),
    ]));
    let whole_csv = dir.path().join("whole.csv");
    ok(&satdet(&[
        "detect",
        &s(&fixture("date1.tif")),
        "--model",
        &model(),
        "-o",
        &s(&whole_csv),
    ]));
    let rows = |p: &Path| -> Vec<csv::StringRecord> {
        csv::Reader::from_path(p)
            .unwrap()
            .records()
            .map(|r| r.unwrap())
            .collect()
    };
    let header = csv::Reader::from_path(&out)
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    let col = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .unwrap_or_else(|| panic!("no column {n}: {header:?}"))
    };
    let (mx0, my0, sc) = (col("map_min_x"), col("map_min_y"), col("scene"));
    let whole_rows = rows(&whole_csv);
    let mut from_b = 0;
    for r in rows(&out) {
        if !r[sc].contains("32632") {
            continue;
        }
        from_b += 1;
        let (x, y): (f64, f64) = (r[mx0].parse().unwrap(), r[my0].parse().unwrap());
        let best = whole_rows
            .iter()
            .map(|w| (w[mx0].parse::<f64>().unwrap() - x).hypot(w[my0].parse::<f64>().unwrap() - y))
            .fold(f64::INFINITY, f64::min);
        assert!(
            best < 1.5,
            "UTM 32N strip box at ({x}, {y}) is {best} m from any whole-scene box"
        );
    }
    assert!(from_b > 0);
}

#[test]
fn shards_merged_are_byte_identical_to_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _, b32) = strips(dir.path());
    let one = dir.path().join("one.geojson");
    let scenes = [s(&a), s(&b32)];
    let mut base: Vec<String> = vec!["detect".into()];
    base.extend(scenes.iter().cloned());
    base.extend(["--model".into(), model()]);
    let with = |extra: &[&str]| {
        let mut v = base.clone();
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    ok(&satdet(&with(&["-o", &s(&one)])));
    let reference = std::fs::read(&one).unwrap();
    for n in [1usize, 2, 3, 7] {
        let sub = dir.path().join(format!("n{n}"));
        std::fs::create_dir(&sub).unwrap();
        let prefix = sub.join("job.tiles");
        let mut files = Vec::new();
        for i in 1..=n {
            // Half of them through the cluster engines' variables, not --shard.
            let mut cmd = Command::new(satdet_bin());
            cmd.args(with(&["-o", &s(&prefix)]));
            match i % 3 {
                0 => {
                    cmd.arg("--shard").arg(format!("{i}/{n}"));
                }
                1 => {
                    cmd.env("SLURM_ARRAY_TASK_ID", i.to_string())
                        .env("SLURM_ARRAY_TASK_MIN", "1")
                        .env("SLURM_ARRAY_TASK_COUNT", n.to_string());
                }
                _ => {
                    cmd.env("JOB_COMPLETION_INDEX", (i - 1).to_string())
                        .arg("--shard-count")
                        .arg(n.to_string());
                }
            }
            ok(&cmd.output().unwrap());
            files.push(s(&sub.join(format!("job.{i}-of-{n}.tiles"))));
        }
        let merged = sub.join("merged.geojson");
        let mut args = vec!["merge".to_string()];
        args.extend(files.iter().rev().cloned()); // any order
        args.extend(["-o".into(), s(&merged)]);
        ok(&satdet(&args));
        assert!(
            std::fs::read(&merged).unwrap() == reference,
            "{n} shards differ from one run"
        );
        if n == 2 {
            // A GeoPackage records when it was written: with SOURCE_DATE_EPOCH it is the
            // same bytes too.
            let gpkg = |out: &Path, args: Vec<String>| {
                let run = Command::new(satdet_bin())
                    .args(args)
                    .arg("-o")
                    .arg(out)
                    .env("SOURCE_DATE_EPOCH", "1764460800")
                    .output()
                    .unwrap();
                ok(&run);
                std::fs::read(out).unwrap()
            };
            let one = gpkg(&sub.join("one.gpkg"), base.clone());
            let mut m = vec!["merge".to_string()];
            m.extend(files.iter().cloned());
            assert!(
                gpkg(&sub.join("merged.gpkg"), m) == one,
                "GeoPackages differ"
            );
        }
        if n == 3 {
            // A missing shard, a shard twice, or a shard of another job is refused.
            let out = satdet(&["merge", &files[0], &files[1], "-o", &s(&merged)]);
            assert!(!out.status.success());
            assert!(String::from_utf8_lossy(&out.stderr).contains("shards missing: 3/3"));
            let out = satdet(&["merge", &files[0], &files[0], &files[1], "-o", &s(&merged)]);
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("is also"),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let other = sub.join("other.tiles");
            ok(&satdet(&with(&[
                "-o",
                &s(&other),
                "--shard",
                "1/3",
                "--confidence",
                "0.9",
            ])));
            let out = satdet(&[
                "merge",
                &s(&sub.join("other.1-of-3.tiles")),
                &files[1],
                &files[2],
                "-o",
                &s(&merged),
            ]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success()
                    && err.contains("not the job of")
                    && err.contains("--confidence"),
                "{err}"
            );
        }
    }
}

#[test]
fn a_run_killed_at_random_points_resumes_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, b32) = strips(dir.path());
    let scenes = [s(&a), s(&b), s(&b32), s(&fixture("date2.tif"))];
    let args = |out: &Path, resume: bool| {
        let mut v: Vec<String> = vec!["detect".into()];
        v.extend(scenes.iter().cloned());
        v.extend([
            "--model".into(),
            model(),
            "--batch".into(),
            "1".into(),
            "-o".into(),
            s(out),
        ]);
        if resume {
            v.push("--resume".into());
        }
        v
    };
    // GeoJSON: a GeoPackage records when it was written (gpkg_contents.last_change), so
    // two whole runs differ there too.
    let reference = dir.path().join("reference.geojson");
    let t = Instant::now();
    ok(&satdet(&args(&reference, false)));
    let took = t.elapsed();
    let want = std::fs::read(&reference).unwrap();
    let out = dir.path().join("killed.geojson");
    let journal = dir.path().join("killed.geojson.journal");
    // Kill points spread over the whole run, from start-up to the final write; some runs
    // are killed twice before they finish.
    let mut kills = 0;
    for round in 0..6u32 {
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(&journal);
        for attempt in 0..=(round % 2) {
            let frac = (f64::from(round) * 0.17 + f64::from(attempt) * 0.3 + 0.05) % 1.0;
            let mut child = Command::new(satdet_bin())
                .args(args(&out, attempt > 0))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(took.mul_f64(frac));
            child.kill().unwrap(); // SIGKILL
            let status = child.wait().unwrap();
            if !status.success() {
                kills += 1;
            }
        }
        let done = satdet(&args(&out, true));
        ok(&done);
        assert!(
            std::fs::read(&out).unwrap() == want,
            "round {round}: resumed output differs"
        );
        assert!(!journal.exists(), "a finished run removes its journal");
    }
    assert!(
        kills >= 4,
        "only {kills} runs were killed before they finished"
    );
    // A journal of another job is refused with a clear message, not mixed in.
    let other = dir.path().join("other.geojson");
    let mut child = Command::new(satdet_bin())
        .args(args(&other, false))
        .spawn()
        .unwrap();
    std::thread::sleep(took.mul_f64(0.5));
    child.kill().unwrap();
    child.wait().unwrap();
    let other_journal = dir.path().join("other.geojson.journal");
    if other_journal.exists() {
        let mut v = args(&other, true);
        v.extend(["--confidence".into(), "0.8".into()]);
        let out = satdet(&v);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && err.contains("belongs to another job")
                && err.contains("other.geojson.journal"),
            "{err}"
        );
    }
}

#[test]
fn a_failing_scene_is_reported_and_the_others_go_on_unless_fail_fast() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _, _) = strips(dir.path());
    let bad = s(&fixture("truncated.tif"));
    let out = dir.path().join("out.geojson");
    let run = satdet(&["detect", &s(&a), &bad, "--model", &model(), "-o", &s(&out)]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.contains("1 of 2 scene(s) failed") && err.contains("truncated.tif"),
        "{err}"
    );
    assert!(
        !features(&out).is_empty(),
        "the good scene's detections are written"
    );
    let _ = std::fs::remove_file(&out);
    let run = satdet(&[
        "detect",
        &s(&a),
        &bad,
        "--model",
        &model(),
        "-o",
        &s(&out),
        "--fail-fast",
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("truncated.tif"));
    assert!(!out.exists(), "--fail-fast writes nothing");
}

#[test]
fn folders_and_list_files_name_the_scenes() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("scenes");
    std::fs::create_dir(&sub).unwrap();
    let (a, b, _) = strips(&sub);
    std::fs::remove_file(sub.join("strip_b_32632.tif")).unwrap();
    let list = dir.path().join("scenes.txt");
    std::fs::write(
        &list,
        format!("# two strips\n{}\n\nscenes/strip_b.tif\n", s(&a)),
    )
    .unwrap();
    let from_dir = dir.path().join("dir.geojson");
    let from_list = dir.path().join("list.geojson");
    ok(&satdet(&[
        "detect",
        &s(&sub),
        "--model",
        &model(),
        "-o",
        &s(&from_dir),
    ]));
    ok(&satdet(&[
        "detect",
        &s(&list),
        "--model",
        &model(),
        "-o",
        &s(&from_list),
    ]));
    let names = |p: &Path| {
        let mut v: Vec<String> = features(p)
            .iter()
            .map(|(_, q)| q["scene"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v.dedup();
        v.iter()
            .map(|n| {
                Path::new(n)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&from_dir), ["strip_a.tif", "strip_b.tif"]);
    assert_eq!(names(&from_list), ["strip_a.tif", "strip_b.tif"]);
    let _ = b;
}

/// Runs shard 1/2 of a job on the GSD fixture with `first` options, then resumes it with
/// `again` options instead, and checks that the resume is refused as another job
/// (deterministic with a shard file, which stays after its run). The first run's stderr.
fn resume_is_refused(first: &[&str], again: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let scene = s(&fixture("gsd_03.tif"));
    let model = s(&fixture("square_detector_03m_dynamic.onnx"));
    let out = s(&dir.path().join("job.tiles"));
    let base = [
        "detect", &scene, "--model", &model, "-o", &out, "--shard", "1/2",
    ];
    let run1 = satdet(&[&base[..], first].concat());
    let err1 = String::from_utf8_lossy(&run1.stderr).into_owned();
    assert!(run1.status.success(), "{err1}");
    let run = satdet(&[&base[..], &["--resume"], again].concat());
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.contains("belongs to another job") && err.contains("job.1-of-2.tiles"),
        "{err}"
    );
    err1
}

/// A resumed job with another `--input-size` is another job: refused, not mixed in.
#[test]
fn resuming_with_another_input_size_is_refused() {
    resume_is_refused(&[], &["--input-size", "512"]);
}

/// The bands fed change the results: a journal made with some is not resumed with others
/// (and shards record them for `satdet merge`).
#[test]
fn resuming_with_other_bands_is_refused() {
    let err = resume_is_refused(&["--bands", "1"], &["--bands", "2"]);
    assert!(err.contains("bands fed: 1 as grey (asked for)"), "{err}");
}
