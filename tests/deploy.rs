//! The cluster files in `deploy/` run what they say: the SLURM array script and the
//! Kubernetes Indexed Job are executed here, as their engines would run them (the same
//! environment variables, the same commands), and their merged result is the result of
//! one `satdet detect` on the whole job.

mod common;

use common::{fixture, satdet, satdet_bin};
use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(p)
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_slurm_array_script_and_its_merge_give_one_run_s_result() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("scenes.txt");
    std::fs::write(
        &list,
        format!(
            "{}\n{}\n",
            s(&fixture("date1.tif")),
            s(&fixture("date2.tif"))
        ),
    )
    .unwrap();
    let model = s(&fixture("two_class_detector.onnx"));
    let one = dir.path().join("one.geojson");
    ok(
        &satdet(&["detect", &s(&list), "--model", &model, "-o", &s(&one)]),
        "one run",
    );
    let out = dir.path().join("run");
    let script = std::fs::read_to_string(deploy("slurm/detect-array.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array="), "an array job");
    let n = 4;
    for id in 0..n {
        let run = Command::new("bash")
            .arg(deploy("slurm/detect-array.sbatch"))
            .env("SATDET", satdet_bin())
            .env("SCENES", &list)
            .env("OUT", &out)
            .env("SATDET_ARGS", format!("--model {model}"))
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", n.to_string())
            .output()
            .unwrap();
        ok(&run, "the array task");
    }
    let result = dir.path().join("merged.geojson");
    let merge = Command::new("bash")
        .arg(deploy("slurm/merge.sbatch"))
        .env("SATDET", satdet_bin())
        .env("OUT", &out)
        .env("RESULT", &result)
        .output()
        .unwrap();
    ok(&merge, "the merge");
    assert!(
        std::fs::read(&result).unwrap() == std::fs::read(&one).unwrap(),
        "merged differs from one run"
    );
}

/// The `- item` lines of the YAML list under `key:` (block style, as in the manifests).
fn yaml_list(text: &str, key: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| l.trim() != format!("{key}:"));
    let head = lines.next().expect("the key");
    let indent = head.len() - head.trim_start().len();
    lines
        .take_while(|l| l.trim_start().starts_with("- ") && l.len() - l.trim_start().len() > indent)
        .map(|l| l.trim_start()[2..].trim().trim_matches('"').to_string())
        .collect()
}

fn yaml_value(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{key}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no {key}"))
}

#[test]
fn the_kubernetes_indexed_job_and_its_merge_give_one_run_s_result() {
    let job = std::fs::read_to_string(deploy("kubernetes/satdet-job.yaml")).unwrap();
    let merge = std::fs::read_to_string(deploy("kubernetes/satdet-merge.yaml")).unwrap();
    assert_eq!(yaml_value(&job, "completionMode"), "Indexed");
    let completions: usize = yaml_value(&job, "completions").parse().unwrap();
    let command = yaml_list(&job, "command");
    assert_eq!(&command[..2], ["satdet", "detect"], "{command:?}");
    let count_at = command
        .iter()
        .position(|a| a == "--shard-count")
        .expect("--shard-count");
    assert_eq!(
        command[count_at + 1],
        completions.to_string(),
        "--shard-count must equal completions"
    );
    let merge_cmd = yaml_list(&merge, "command");
    assert_eq!(&merge_cmd[..2], ["sh", "-c"]);
    assert!(merge_cmd[2].starts_with("satdet merge "), "{merge_cmd:?}");
    assert!(
        merge_cmd[2].contains(&format!("-of-{completions}.tiles")),
        "{merge_cmd:?}"
    );

    // Run them: /data is a folder here, the scenes a list file, each pod a process with
    // its JOB_COMPLETION_INDEX.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    std::fs::create_dir(data.join("out")).unwrap();
    std::fs::write(
        data.join("scenes.txt"),
        format!("{}\n", s(&fixture("date1.tif"))),
    )
    .unwrap();
    let local = |a: &str| a.replace("/data", &s(data));
    for index in 0..completions {
        let run = Command::new(satdet_bin())
            .args(command[1..].iter().map(|a| local(a)))
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .output()
            .unwrap();
        ok(&run, "a pod");
    }
    let sh = local(&merge_cmd[2]).replacen("satdet", &s(&satdet_bin()), 1);
    ok(
        &Command::new("sh").arg("-c").arg(&sh).output().unwrap(),
        "the merge pod",
    );
    let one = data.join("one.gpkg");
    ok(
        &satdet(&["detect", &local("/data/scenes.txt"), "-o", &s(&one)]),
        "one run",
    );
    let merged = satdet::output::read_detections(data.join("out/detections.gpkg")).unwrap();
    let single = satdet::output::read_detections(&one).unwrap();
    assert_eq!(merged.items, single.items);
    assert_eq!(merged.scene, single.scene);
}

#[test]
fn the_container_file_builds_the_program_and_installs_onnxruntime() {
    let c = std::fs::read_to_string(deploy("Containerfile")).unwrap();
    assert!(
        c.contains("cargo build --release --locked --example satdet"),
        "{c}"
    );
    assert!(c.contains("onnxruntime=="), "{c}");
    assert!(c.contains("ENV ORT_DYLIB_PATH="), "{c}");
}
