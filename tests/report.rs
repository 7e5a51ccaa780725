//! The HTML report: built from a fixture scene with hand-made detections, sites and
//! change, checked as text (self-contained, escaped, every embedded picture decodes) and
//! rendered by headless Chromium (no console error or failed load, every image decoded,
//! the expected sites and pictures in the DOM, a screenshot that is not blank); and its
//! reads checked on a counting window source (bounded windows, never the whole scene).

mod common;

use satdet::analysis::{Change, ChangeKind, ChangedObject, Site};
use satdet::geo::ToWgs84;
use satdet::output::report::{self, ReportInput, MAX_CHIPS, MAX_WINDOW_PX};
use satdet::raster::{
    BandLayout, MaskSpec, RasterInfo, SampleType, SamplesMut, TileBuf, Window, WindowSource,
};
use satdet::{Detection, Detections, LonLat, PixelBox, Scene};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLASSES: [&str; 3] = ["car", "truck", "ex<cavator>&"];

fn detection(scene: &Scene, class_id: u32, b: PixelBox) -> Detection {
    let map = scene.georef().map(|g| g.map_polygon(&b));
    let lonlat = scene.georef().and_then(|g| {
        let to = ToWgs84::new(&g.crs).ok()?;
        to.polygon(&map?).ok()
    });
    Detection {
        class_id,
        class_name: CLASSES[class_id as usize % 3].into(),
        score: 0.8,
        pixel_box: b,
        oriented: None,
        map_polygon: map,
        lonlat_polygon: lonlat,
    }
}

fn detections(scene: &Scene, items: Vec<Detection>) -> Detections {
    let mut report = satdet::Report {
        confidence: 0.25,
        iou: 0.45,
        tiles_total: 12,
        tiles_processed: 10,
        tiles_skipped: 2,
        tiles_resumed: 0,
        ..Default::default()
    };
    report.warnings.push("a <b>warning</b> & more".into());
    Detections {
        items,
        scene: scene.path().to_path_buf(),
        crs: None,
        acquired: Some("2025-09-13".into()),
        report,
    }
}

/// A site of `members`: its polygon the WGS84 bounding box of their boxes (or nothing
/// without WGS84), counts per class.
fn site(id: u32, members: &[usize], dets: &Detections) -> Site {
    let pts: Vec<[f64; 2]> = members
        .iter()
        .filter_map(|&i| dets[i].lonlat_polygon)
        .flatten()
        .collect();
    let polygon = if pts.is_empty() {
        Vec::new()
    } else {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in &pts {
            (x0, y0, x1, y1) = (x0.min(p[0]), y0.min(p[1]), x1.max(p[0]), y1.max(p[1]));
        }
        vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    };
    let mut counts = BTreeMap::new();
    for &i in members {
        *counts.entry(dets[i].class_name.to_string()).or_insert(0) += 1;
    }
    let center = members
        .iter()
        .filter_map(|&i| dets[i].lonlat_center())
        .fold(LonLat { lon: 0.0, lat: 0.0 }, |a, c| LonLat {
            lon: a.lon + c.lon / members.len() as f64,
            lat: a.lat + c.lat / members.len() as f64,
        });
    Site {
        id,
        polygon,
        center,
        counts,
        total: members.len(),
        mean_score: 0.8,
        members: members.to_vec(),
    }
}

/// Base64 (RFC 4648) decoding, `None` on a character outside the alphabet.
fn unbase64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::new();
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= u32::from(val(c)?) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    Some(out)
}

/// Every `data:` URI's picture, decoded, with the `width`/`height` of its `<img>`.
fn embedded_images(html: &str) -> Vec<(image::DynamicImage, u32, u32)> {
    let mut out = Vec::new();
    for part in html.split("<img src=\"").skip(1) {
        let uri = &part[..part.find('"').expect("closing quote")];
        let payload = uri
            .strip_prefix("data:image/jpeg;base64,")
            .or_else(|| uri.strip_prefix("data:image/png;base64,"))
            .unwrap_or_else(|| panic!("not an embedded picture: {}", &uri[..uri.len().min(60)]));
        let bytes = unbase64(payload).expect("valid base64");
        let img = image::load_from_memory(&bytes).expect("a picture that decodes");
        let attr = |name: &str| -> u32 {
            let i = part.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
            part[i..i + part[i..].find('"').unwrap()].parse().unwrap()
        };
        out.push((img, attr("width"), attr("height")));
    }
    out
}

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var("CHROMIUM").unwrap_or_default(),
        "/usr/bin/chromium".into(),
        "/usr/bin/chromium-browser".into(),
        "/usr/bin/google-chrome".into(),
    ];
    candidates
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `page` with `args`, killed after 60 s; its stdout and
/// stderr.
fn run_chromium(exe: &Path, profile: &Path, args: &[String], page: &Path) -> (String, String) {
    let out_dir = profile.parent().expect("parent");
    let (stdout, stderr) = (out_dir.join("stdout.txt"), out_dir.join("stderr.txt"));
    let mut child = Command::new(exe)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2000",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        std::fs::read_to_string(stdout).unwrap_or_default(),
        std::fs::read_to_string(stderr).unwrap_or_default(),
    )
}

/// Console messages and failed loads in Chromium's log (`--enable-logging=stderr`
/// writes every console message as an `INFO:CONSOLE` line; the report has no script, so
/// any is a browser complaint).
fn browser_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            l.contains(":CONSOLE")
                || l.contains("Failed to load resource")
                || l.contains("net::ERR_")
        })
        .collect()
}

/// The page's DOM after load, rendered from a copy that marks on `<body>` how many
/// images decoded (`data-img-ok`) and how many did not (`data-img-bad`); the report
/// itself has no script.
fn probe_dom(exe: &Path, dir: &Path, name: &str, html: &str) -> String {
    let script = "<script>window.addEventListener('load',function(){var ok=0,bad=0;\
        document.querySelectorAll('img').forEach(function(i){if(i.complete&&i.naturalWidth>0){ok++}else{bad++}});\
        document.body.setAttribute('data-img-ok',ok);document.body.setAttribute('data-img-bad',bad);});</script>";
    let probe = dir.join(format!("{name}.html"));
    std::fs::write(&probe, html.replace("</body>", &format!("{script}</body>"))).expect("probe");
    let (dom, log) = run_chromium(
        exe,
        &dir.join(format!("profile-{name}")),
        &["--dump-dom".to_string()],
        &probe,
    );
    assert!(
        browser_errors(&log).is_empty(),
        "{:?}",
        browser_errors(&log)
    );
    dom
}

#[test]
fn report_renders_in_chromium_with_every_site_and_picture() {
    let scene = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("scene");
    let before = Scene::open(common::fixture("utm_pan16_strips.tif")).expect("before scene");
    let manifest = common::manifest();
    let squares = manifest["detection"]["squares"]
        .as_array()
        .expect("squares");
    let items: Vec<Detection> = squares
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let b: Vec<f64> = s["pixel_bbox"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            detection(&scene, i as u32 % 3, PixelBox::new(b[0], b[1], b[2], b[3]))
        })
        .collect();
    let dets = detections(&scene, items);
    let sites = vec![
        site(1, &[7, 10, 12, 13], &dets),
        site(2, &[0, 8, 11], &dets),
        site(3, &[5, 15], &dets),
    ];
    // Site 1 gains 13, loses an object at (400, 500); everything else stayed.
    let gone = detection(&scene, 0, PixelBox::new(400.0, 500.0, 411.0, 511.0));
    let mut objects: Vec<ChangedObject> = dets
        .iter()
        .enumerate()
        .map(|(i, d)| ChangedObject {
            change: if i == 13 {
                ChangeKind::Appeared
            } else {
                ChangeKind::Stayed
            },
            detection: d.clone(),
            before: (i != 13).then_some(i),
            after: Some(i),
            distance_m: (i != 13).then_some(0.5),
        })
        .collect();
    objects.push(ChangedObject {
        change: ChangeKind::Gone,
        detection: gone,
        before: Some(16),
        after: None,
        distance_m: None,
    });
    let mut counts: BTreeMap<String, BTreeMap<ChangeKind, usize>> = BTreeMap::new();
    for o in &objects {
        *counts
            .entry(o.detection.class_name.to_string())
            .or_default()
            .entry(o.change)
            .or_default() += 1;
    }
    let change = Change {
        offset_m: [1.5, -0.5],
        offset_pairs: 15,
        tolerance_m: 5.0,
        objects,
        counts,
    };
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("report.html");
    let input = ReportInput::new(&dets, &scene)
        .with_sites(&sites)
        .with_change(&change)
        .with_before_scene(&before);
    report::write(&out, &input).expect("report written");
    let html = std::fs::read_to_string(&out).expect("read");

    // Self-contained, escaped, complete.
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<script") && !html.contains("@import") && !html.contains("url("));
    assert!(html.contains("ex&lt;cavator&gt;&amp;") && !html.contains("<cavator>"));
    assert!(html.contains("a &lt;b&gt;warning&lt;/b&gt; &amp; more"));
    assert!(html.contains("2025-09-13") && html.contains("confidence 0.25, IoU 0.45"));
    assert_eq!(html.matches("class=\"site-row\"").count(), 3);
    assert_eq!(html.matches("class=\"fig chip-after\"").count(), 3);
    assert_eq!(html.matches("class=\"fig chip-before\"").count(), 3);
    // Site 1 (7, 10, 13 trucks; 12 a car): 13 appeared, a car is gone.
    let row1 = &html[html.find("id=\"site-row-1\"").unwrap()..];
    let row1 = &row1[..row1.find("</tr>").unwrap()];
    assert!(row1.contains("+0 −1 =1"), "car in site 1: {row1}");
    assert!(row1.contains("+1 −0 =2"), "truck in site 1: {row1}");
    let images = embedded_images(&html);
    assert_eq!(
        images.len(),
        1 + 3 + 3,
        "overview and two pictures per site"
    );
    for (img, w, h) in &images {
        assert_eq!((img.width(), img.height()), (*w, *h));
    }
    assert_eq!(
        images[0].0.width(),
        scene.width().max(scene.height()).min(1600)
    );

    let Some(exe) = chromium() else {
        eprintln!("SKIPPED the browser half: no Chromium (install the `chromium` package or set CHROMIUM)");
        assert!(
            std::env::var_os("SATDET_REQUIRE_CHROMIUM").is_none(),
            "SATDET_REQUIRE_CHROMIUM is set and no Chromium was found"
        );
        return;
    };
    // A screenshot of the page as it is.
    let shot = dir.path().join("report.png");
    let (_, log) = run_chromium(
        &exe,
        &dir.path().join("profile-shot"),
        &[format!("--screenshot={}", shot.display())],
        &out,
    );
    assert!(
        browser_errors(&log).is_empty(),
        "{:?}",
        browser_errors(&log)
    );
    let png = image::open(&shot)
        .unwrap_or_else(|e| panic!("no screenshot ({e}); chromium said:\n{log}"))
        .to_rgb8();
    assert_eq!((png.width(), png.height()), (1280, 2000));
    let mut distinct = std::collections::HashSet::new();
    for p in png.pixels().step_by(7) {
        distinct.insert(p.0);
    }
    assert!(
        distinct.len() > 200,
        "a blank screenshot: {} colours",
        distinct.len()
    );
    if let Ok(keep) = std::env::var("SATDET_REPORT_SCREENSHOT") {
        // With the page beside it (`.html`), for the README or a look by hand.
        std::fs::copy(&shot, &keep).expect("keep the screenshot");
        std::fs::copy(&out, Path::new(&keep).with_extension("html")).expect("keep the page");
    }

    // The DOM after load: every picture decoded, each site and picture there.
    let dom = probe_dom(&exe, dir.path(), "probe", &html);
    assert!(
        dom.contains("data-img-ok=\"7\"") && dom.contains("data-img-bad=\"0\""),
        "images not all decoded: {}",
        &dom[..dom.len().min(400)]
    );
    // The probe sees a broken picture: one payload cut short.
    let cut = html.find(";base64,").expect("a picture") + ";base64,".len();
    let broken = format!(
        "{}AAAA{}",
        &html[..cut],
        &html[cut + html[cut..].find('"').unwrap()..]
    );
    let bad = probe_dom(&exe, dir.path(), "broken", &broken);
    assert!(
        bad.contains("data-img-bad=\"1\""),
        "the probe missed a broken picture"
    );
    assert_eq!(dom.matches("class=\"site-row\"").count(), 3);
    assert_eq!(dom.matches("class=\"fig chip-after\"").count(), 3);
    assert_eq!(dom.matches("class=\"fig chip-before\"").count(), 3);
    assert_eq!(dom.matches("class=\"site-outline\"").count(), 3 + 3);
}

/// A computed 3-band raster that records the largest window and the pixels read.
struct Counting {
    info: RasterInfo,
    largest: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

impl WindowSource for Counting {
    fn info(&self) -> &RasterInfo {
        &self.info
    }
    fn read_window(&self, window: Window, buf: &mut TileBuf) -> satdet::Result<()> {
        self.largest.fetch_max(window.pixels(), Ordering::Relaxed);
        self.total.fetch_add(window.pixels(), Ordering::Relaxed);
        let SamplesMut::U8(samples) = buf.samples_mut() else {
            return Err(satdet::Error::Config("8-bit only".into()));
        };
        for (i, px) in samples.chunks_exact_mut(3).enumerate() {
            let x = window.x as usize + i % window.width as usize;
            let y = window.y as usize + i / window.width as usize;
            px.copy_from_slice(&[(x % 251) as u8, (y % 241) as u8, ((x + y) % 7 * 30) as u8]);
        }
        Ok(())
    }
}

#[test]
fn pictures_are_read_in_bounded_windows_never_the_whole_scene() {
    let (w, h) = (6000u32, 4000u32);
    let largest = Arc::new(AtomicU64::new(0));
    let total = Arc::new(AtomicU64::new(0));
    let source = Counting {
        info: RasterInfo {
            width: w,
            height: h,
            bands: 3,
            sample: SampleType::U8,
            layout: BandLayout::Interleaved,
            mask: MaskSpec {
                alpha_band: None,
                nodata: None,
            },
            storage: "computed".into(),
        },
        largest: largest.clone(),
        total: total.clone(),
    };
    let scene = Scene::from_source(source, None).expect("scene");
    // 60 sites of 3 cars each, one per 100-pixel cell: more than MAX_CHIPS.
    let items: Vec<Detection> = (0..180u32)
        .map(|i| {
            let (x, y) = (f64::from(i / 3 % 10) * 550.0, f64::from(i / 30) * 600.0);
            let dx = f64::from(i % 3) * 14.0;
            detection(&scene, 0, PixelBox::new(x + dx, y, x + dx + 10.0, y + 6.0))
        })
        .collect();
    let dets = detections(&scene, items);
    let sites: Vec<Site> = (0..60u32)
        .map(|s| {
            let first = s as usize * 3;
            site(s + 1, &[first, first + 1, first + 2], &dets)
        })
        .collect();
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("report.html");
    // Progress: the overview, then each of the MAX_CHIPS pictures, in order.
    let mut seen = Vec::new();
    report::write_with_progress(
        &out,
        &ReportInput::new(&dets, &scene).with_sites(&sites),
        |done, total| seen.push((done, total)),
    )
    .expect("report");
    let want: Vec<(usize, usize)> = (1..=MAX_CHIPS + 1).map(|d| (d, MAX_CHIPS + 1)).collect();
    assert_eq!(seen, want);
    let html = std::fs::read_to_string(&out).expect("read");
    assert_eq!(html.matches("class=\"site-row\"").count(), 60);
    assert_eq!(html.matches("class=\"fig chip-after\"").count(), MAX_CHIPS);
    assert!(html.contains(&format!("Pictures of the {MAX_CHIPS} largest of 60 sites")));
    let scene_px = u64::from(w) * u64::from(h);
    let largest = largest.load(Ordering::Relaxed);
    let total = total.load(Ordering::Relaxed);
    assert!(largest <= MAX_WINDOW_PX, "a window of {largest} pixels");
    assert!(largest < scene_px / 4, "a window of {largest} pixels");
    // The reduced overview reads only the rows it samples.
    assert!(total < scene_px / 2, "{total} pixels read of {scene_px}");
}

#[test]
fn the_report_never_replaces_the_scene() {
    let dir = tempfile::tempdir().expect("tmp");
    let copy = dir.path().join("scene.tif");
    std::fs::copy(common::fixture("utm_rgb_tiled_lzw.tif"), &copy).expect("copy");
    let before = std::fs::read(&copy).expect("read");
    let scene = Scene::open(&copy).expect("scene");
    let dets = detections(&scene, Vec::new());
    let e = report::write(&copy, &ReportInput::new(&dets, &scene)).expect_err("refused");
    assert!(e.to_string().contains("input"), "{e}");
    assert_eq!(std::fs::read(&copy).expect("read"), before);
    // Without sites the page still has its summary and overview; a scene name with
    // markup in it is escaped wherever it is shown.
    let odd = dir.path().join("a<b>&'\"x.tif");
    std::fs::copy(&copy, &odd).expect("copy");
    let scene = Scene::open(&odd).expect("scene");
    let dets = detections(&scene, Vec::new());
    let out = dir.path().join("plain.html");
    report::write(&out, &ReportInput::new(&dets, &scene)).expect("report");
    let html = std::fs::read_to_string(&out).expect("read");
    assert!(html.contains("No sites were given") && html.contains("id=\"overview\""));
    assert!(html.contains("a&lt;b&gt;&amp;&#39;&quot;x.tif"));
    assert!(!html.contains("a<b>"));
}
