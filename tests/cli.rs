//! `satdet detect` (the example program) under bad arguments: it never writes over an
//! input, never leaves a half-written or destroyed output, and never panics on a size.
//!
//! Runs the example binary `target/<profile>/examples/satdet`, built by
//! `cargo build --example satdet` (scripts/test.sh does so before the tests).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&std::ffi::OsStr]) -> Output {
    let mut all = vec![os("detect")];
    all.extend_from_slice(args);
    common::satdet(&all)
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

/// A copy of the fixture scene in a fresh folder, so a failing test cannot damage the
/// shared fixtures.
fn scene_copy(dir: &Path) -> PathBuf {
    let p = dir.join("scene.tif");
    std::fs::copy(common::fixture("utm_rgb_tiled_lzw.tif"), &p).expect("copy");
    p
}

/// `detect` on a scene copy in `dir` with the square fixture model and `extra` options,
/// writing `dir/o.geojson`: the run and that output's path.
fn square_detect(dir: &Path, extra: &[&std::ffi::OsStr]) -> (Output, PathBuf) {
    let scene = scene_copy(dir);
    let out = dir.join("o.geojson");
    let model = common::fixture("square_detector.onnx");
    let mut args = vec![
        os(&scene),
        os("--output"),
        os(&out),
        os("--model"),
        os(&model),
    ];
    args.extend_from_slice(extra);
    (run(&args), out)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_quicklook_over_the_input_is_refused_before_anything_is_written() {
    let d = tempfile::tempdir().expect("tempdir");
    let scene = scene_copy(d.path());
    let before = std::fs::read(&scene).expect("read");
    let model = common::fixture("square_detector.onnx");
    let out = d.path().join("o.geojson");
    let o = run(&[
        os(&scene),
        os("--output"),
        os(&out),
        os("--model"),
        os(&model),
        os("--quicklook"),
        os(&scene),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("quick-look"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&scene).expect("read"),
        before,
        "scene untouched"
    );
    assert!(!out.exists(), "nothing written");
}

#[cfg(unix)]
#[test]
fn outputs_resolving_to_an_input_or_each_other_are_refused() {
    use std::os::unix::fs::symlink;
    let d = tempfile::tempdir().expect("tempdir");
    let scene = scene_copy(d.path());
    let before = std::fs::read(&scene).expect("read");
    std::fs::create_dir(d.path().join("sub")).expect("mkdir");
    let model_copy = d.path().join("model.onnx");
    std::fs::copy(common::fixture("square_detector.onnx"), &model_copy).expect("copy");
    let model_before = std::fs::read(&model_copy).expect("read");
    // An upper-case world file beside the scene is an input too.
    let world = d.path().join("scene.TFW");
    std::fs::write(&world, "0.5\n0\n0\n-0.5\n500000\n5000000\n").expect("tfw");
    let hard = d.path().join("hard.geojson");
    std::fs::hard_link(&scene, &hard).expect("hard link");
    symlink(&scene, d.path().join("link.geojson")).expect("symlink");
    symlink(&model_copy, d.path().join("model.geojson")).expect("symlink");
    symlink(&world, d.path().join("world.geojson")).expect("symlink");
    let a = d.path().join("a.geojson");
    std::fs::write(&a, b"previous").expect("write");
    symlink(&a, d.path().join("q.png")).expect("symlink");
    let cases: Vec<(PathBuf, Option<PathBuf>, &str)> = vec![
        (hard.clone(), None, "refusing to overwrite an input"),
        (
            d.path().join("sub/../link.geojson"),
            None,
            "refusing to overwrite an input",
        ),
        (
            d.path().join("model.geojson"),
            None,
            "refusing to overwrite an input",
        ),
        (
            d.path().join("world.geojson"),
            None,
            "refusing to overwrite an input",
        ),
        (a.clone(), Some(d.path().join("q.png")), "also the output"),
    ];
    for (output, quicklook, message) in cases {
        let mut args = vec![
            os(&scene),
            os("--output"),
            os(&output),
            os("--model"),
            os(&model_copy),
        ];
        if let Some(q) = &quicklook {
            args.extend([os("--quicklook"), os(q)]);
        }
        let o = run(&args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}: {}",
            output.display(),
            stderr(&o)
        );
        assert!(
            stderr(&o).contains(message),
            "{}: {}",
            output.display(),
            stderr(&o)
        );
        assert_eq!(std::fs::read(&scene).expect("read"), before);
        assert_eq!(std::fs::read(&model_copy).expect("read"), model_before);
        assert!(std::fs::read(&world).expect("read").starts_with(b"0.5\n"));
        assert_eq!(std::fs::read(&a).expect("read"), b"previous");
    }
}

#[test]
fn a_failed_run_leaves_the_previous_output_byte_identical() {
    let d = tempfile::tempdir().expect("tempdir");
    let scene = scene_copy(d.path());
    let out = d.path().join("out.geojson");
    std::fs::write(&out, b"{\"previous\": true}").expect("write");
    // The NaN model fails after the scene was read: the error comes mid-run.
    let o = run(&[
        os(&scene),
        os("--output"),
        os(&out),
        os("--model"),
        os(&common::fixture("nan_detector.onnx")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("non-finite"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).expect("read"), b"{\"previous\": true}");
    // No temporary file is left; the run's journal is kept for `--resume`.
    let names: Vec<_> = std::fs::read_dir(d.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n.to_string_lossy() != "out.geojson.journal")
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    assert!(stderr(&o).contains("out.geojson.journal"), "{}", stderr(&o));
    // A good run replaces it whole, quick-look included.
    let q = d.path().join("q.png");
    let o = run(&[
        os(&scene),
        os("--output"),
        os(&out),
        os("--model"),
        os(&common::fixture("square_detector.onnx")),
        os("--quicklook"),
        os(&q),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("read")).expect("GeoJSON");
    assert_eq!(v["features"].as_array().map(Vec::len), Some(16));
    assert_eq!(&std::fs::read(&q).expect("png")[1..4], b"PNG");
}

#[test]
fn absurd_sizes_are_argument_errors_not_panics() {
    let d = tempfile::tempdir().expect("tempdir");
    let scene = scene_copy(d.path());
    let out = d.path().join("o.geojson");
    for args in [
        ["--batch", "100000"],
        ["--batch", "18446744073709551615"],
        ["--batch", "0"],
        ["--tile", "4294967295"],
        ["--tile", "4"],
    ] {
        let o = run(&[
            os(&scene),
            os("--output"),
            os(&out),
            os(args[0]),
            os(args[1]),
        ]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        assert!(!out.exists());
    }
}

#[test]
fn every_warning_is_shown_once() {
    let d = tempfile::tempdir().expect("tempdir");
    // A scene without georeferencing (a warning from the scene) and a model with two
    // ignored thresholds (warnings from the model).
    let plain = d.path().join("plain.tif");
    let st = Command::new("gdal_translate")
        .args(["-q", "-co", "PROFILE=BASELINE"])
        .arg(common::fixture("utm_rgb_tiled_lzw.tif"))
        .arg(&plain)
        .status()
        .expect("gdal_translate (gdal-bin)");
    assert!(st.success());
    // GDAL keeps the georeferencing of a baseline TIFF in plain.tif.aux.xml, which satdet
    // reads as GDAL does: without it the scene has none.
    std::fs::remove_file(d.path().join("plain.tif.aux.xml")).expect("GDAL's .aux.xml");
    let out = d.path().join("o.geojson");
    let o = run(&[
        os(&plain),
        os("--output"),
        os(&out),
        os("--model"),
        os(&common::fixture("bad_thresholds.onnx")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
    assert!(warnings.len() >= 3, "scene + two metadata warnings: {err}");
    for w in &warnings {
        assert_eq!(
            warnings.iter().filter(|x| *x == w).count(),
            1,
            "twice: {w}\n{err}"
        );
    }
    assert!(warnings.iter().any(|w| w.contains("`conf`")), "{err}");
}

/// `--device tensorrt` in a build without the feature: exit code 1 and a message naming
/// the feature, before any output is written (never a CPU run instead). With the feature,
/// onnxruntime here has no TensorRT: still exit code 1.
#[test]
fn an_unavailable_tensorrt_device_is_an_error_naming_the_feature() {
    let d = tempfile::tempdir().expect("tempdir");
    let (o, out) = square_detect(
        d.path(),
        &[os("--device"), os("tensorrt"), os("--device-id"), os("0")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("TensorRT"), "{err}");
    if cfg!(not(feature = "tensorrt")) {
        assert!(err.contains("--features tensorrt"), "{err}");
    }
    assert!(!out.exists(), "nothing written");
}

/// `--device-id` with `--device cpu` means nothing: an error, not silently ignored.
#[test]
fn a_device_id_on_the_cpu_is_an_error() {
    let d = tempfile::tempdir().expect("tempdir");
    let (o, out) = square_detect(d.path(), &[os("--device-id"), os("1")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--device-id"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing written");
}

/// A model whose layout is ambiguous: exit 1 naming `--layout`; with `--layout` it runs.
#[test]
fn an_ambiguous_layout_is_named_with_layout() {
    let d = tempfile::tempdir().expect("tempdir");
    let scene = scene_copy(d.path());
    let out = d.path().join("o.geojson");
    let model = common::fixture("square_e2e_unnamed.onnx");
    let base = [
        os(&scene),
        os("--output"),
        os(&out),
        os("--model"),
        os(&model),
    ];
    let o = run(&base);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--layout end2end|rtdetr"),
        "{}",
        stderr(&o)
    );
    let mut named = base.to_vec();
    named.extend([os("--layout"), os("end2end")]);
    let o = run(&named);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.exists());
}

#[test]
fn int8_runs_the_bundled_int8_model_and_excludes_model() {
    let d = tempfile::tempdir().expect("tempdir");
    let scene = scene_copy(d.path());
    let out = d.path().join("o.csv");
    let o = run(&[os(&scene), os("--output"), os(&out), os("--int8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(satdet::pipeline::BUNDLED_MODEL_INT8_NAME),
        "the run does not name the INT8 model: {}",
        stderr(&o)
    );
    assert!(out.is_file());
    // --int8 picks a bundled file: with --model it is an argument error, nothing written.
    let out2 = d.path().join("o2.csv");
    let model = common::fixture("square_detector.onnx");
    let o = run(&[
        os(&scene),
        os("--output"),
        os(&out2),
        os("--int8"),
        os("--model"),
        os(&model),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--int8"), "{}", stderr(&o));
    assert!(!out2.exists());
}
