//! Scenes read from object storage: an HTTP server on 127.0.0.1 (in this test, no
//! network) serves the fixtures with range requests; reads, detections and
//! georeferencing equal the local file's, a window fetches about the bytes of its
//! chunks, faults are retried, a missing object is a typed error naming its URL. The
//! S3 client is pointed at the same server; cloud stores without credentials fail fast.

mod common;

use satdet::raster::{TileBuf, Window};
use satdet::{Detector, Error, Scene};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Every request answered.
    Good,
    /// Every third request fails: a 503, a connection closed before the answer, or an
    /// answer cut short, in turn.
    Flaky,
    /// Every object is missing.
    Missing,
}

/// What the server did.
#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    /// Body bytes of full answers.
    bytes: AtomicU64,
    failures: AtomicU64,
}

struct Server {
    port: u16,
    stats: Arc<Stats>,
}

impl Server {
    fn start(mode: Mode) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stats = Arc::new(Stats::default());
        let s = stats.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(conn, mode, &s));
            }
        });
        Server { port, stats }
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/fixtures/{name}", self.port)
    }

    fn bytes(&self) -> u64 {
        self.stats.bytes.load(Ordering::SeqCst)
    }
}

/// Answers the requests of one connection (keep-alive) until it closes.
fn serve(conn: TcpStream, mode: Mode, stats: &Stats) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut range = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("range") {
                    range = Some(v.trim().to_owned());
                }
            }
        }
        let n = stats.requests.fetch_add(1, Ordering::SeqCst);
        let fail = mode == Mode::Flaky && n % 3 == 2;
        if fail {
            stats.failures.fetch_add(1, Ordering::SeqCst);
            match (n / 3) % 3 {
                0 => {
                    let _ = out.write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
                    );
                    continue;
                }
                1 => return, // closed before any answer
                _ => {}      // an answer cut short, below
            }
        }
        // `/fixtures/NAME` (HTTP) or `/bucket/NAME` (S3, path style).
        let name = path.rsplit('/').next().unwrap_or("");
        let data = match std::fs::read(common::fixture(name)) {
            Ok(d) if mode != Mode::Missing && !name.is_empty() => d,
            _ => {
                let _ = out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                continue;
            }
        };
        let len = data.len() as u64;
        let common_headers = "Accept-Ranges: bytes\r\nLast-Modified: Mon, 30 Nov 2026 10:00:00 GMT\r\nETag: \"fixture\"\r\n";
        if method == "HEAD" {
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\n{common_headers}Content-Length: {len}\r\n\r\n"
            );
            continue;
        }
        let (start, end) = match range.as_deref().and_then(|r| parse_range(r, len)) {
            Some(r) => r,
            None => (0, len),
        };
        let body = &data[start as usize..end as usize];
        let head = if range.is_some() {
            format!(
                "HTTP/1.1 206 Partial Content\r\n{common_headers}Content-Range: bytes {start}-{}/{len}\r\nContent-Length: {}\r\n\r\n",
                end - 1,
                body.len()
            )
        } else {
            format!(
                "HTTP/1.1 200 OK\r\n{common_headers}Content-Length: {}\r\n\r\n",
                body.len()
            )
        };
        if out.write_all(head.as_bytes()).is_err() {
            return;
        }
        if fail {
            let _ = out.write_all(&body[..body.len() / 2]);
            return;
        }
        // Counted before it is sent: the client may be done before this thread runs on.
        stats.bytes.fetch_add(body.len() as u64, Ordering::SeqCst);
        if out.write_all(body).is_err() {
            return;
        }
    }
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` as a half-open range inside `0..len`.
fn parse_range(r: &str, len: u64) -> Option<(u64, u64)> {
    let (a, b) = r.strip_prefix("bytes=")?.split_once('-')?;
    let (start, end) = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(a), Some(b)) => (a, b + 1),
        (Some(a), None) => (a, len),
        (None, Some(n)) => (len.saturating_sub(n), len),
        _ => return None,
    };
    (start < end && end <= len).then_some((start, end))
}

/// The strip/tile offsets and byte counts of a little-endian classic TIFF's first image.
fn chunk_index(name: &str) -> Vec<(u64, u64)> {
    let b = std::fs::read(common::fixture(name)).expect("fixture");
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    assert_eq!(&b[..4], b"II*\0", "{name}: a classic little-endian TIFF");
    let ifd = u32_at(4) as usize;
    let array = |tag: u16| -> Vec<u64> {
        for i in 0..u16_at(ifd) as usize {
            let e = ifd + 2 + 12 * i;
            if u16_at(e) == tag {
                let (ty, count) = (u16_at(e + 2), u32_at(e + 4) as usize);
                let size = if ty == 3 { 2 } else { 4 };
                let at = if count * size <= 4 {
                    e + 8
                } else {
                    u32_at(e + 8) as usize
                };
                return (0..count)
                    .map(|k| {
                        if ty == 3 {
                            u64::from(u16_at(at + 2 * k))
                        } else {
                            u64::from(u32_at(at + 4 * k))
                        }
                    })
                    .collect();
            }
        }
        Vec::new()
    };
    let (mut offsets, mut counts) = (array(324), array(325));
    if offsets.is_empty() {
        (offsets, counts) = (array(273), array(279));
    }
    offsets.into_iter().zip(counts).collect()
}

/// Windows across the scene: all of it, one pixel, chunk boundaries, the edges.
fn windows(scene: &Scene) -> Vec<Window> {
    let (w, h) = (scene.width(), scene.height());
    vec![
        Window::new(0, 0, w, h),
        Window::new(0, 0, 1, 1),
        Window::new(w / 4 - 10, h / 4 - 10, 20, 20),
        Window::new(w - w / 3, h - h / 4, w / 3, h / 4),
        Window::new(w / 10, h / 2, w - w / 5, 37),
    ]
}

/// Every window of `remote` equals the local file's; their headers agree.
fn assert_same_scene(local: &Scene, remote: &Scene, what: &str) {
    assert_eq!(local.info(), remote.info(), "{what}");
    assert_eq!(local.georef(), remote.georef(), "{what}");
    assert_eq!(local.acquired(), remote.acquired(), "{what}");
    assert_eq!(local.warnings().len(), remote.warnings().len(), "{what}");
    let (mut a, mut b) = (TileBuf::new(), TileBuf::new());
    for w in windows(local) {
        local.read_window(w, &mut a).unwrap();
        remote
            .read_window(w, &mut b)
            .unwrap_or_else(|e| panic!("{what} {w:?}: {e}"));
        assert!(a.samples() == b.samples(), "{what}: window {w:?} differs");
    }
}

const SCENES: &[&str] = &[
    "utm_rgb_tiled_lzw.tif",
    "utm_pan16_strips.tif",
    "utm_rgb_jpeg_ycbcr.tif",
    "codec_jpeg_rgb_tiles.tif",
    "io_u16_4b_band_tiles_packbits.tif",
    "codec_webp_lossy_rgb_tiles.tif",
    "codec_webp_lossless_rgba_strips.tif",
];

#[test]
fn http_scenes_read_like_the_local_files() {
    let server = Server::start(Mode::Good);
    for name in SCENES {
        let local = Scene::open(common::fixture(name)).unwrap();
        let sent_before = server.bytes();
        let url = server.url(name);
        let remote = Scene::open(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(remote.path().to_str(), Some(url.as_str()));
        assert_same_scene(&local, &remote, name);
        // What the scene counts is what the server sent: about the file (every chunk
        // once, the cache holds these small scenes; a chunk that straddles the header
        // block's end is fetched whole: in the lossy WebP file one tile is 83% of it, so
        // the bound is the file and the 16 KiB header block again when that is more).
        let len = std::fs::metadata(common::fixture(name)).unwrap().len();
        let fetched = remote.bytes_fetched().expect("a TIFF counts its bytes");
        assert_eq!(fetched, server.bytes() - sent_before, "{name}");
        assert!(
            fetched * 10 <= (len * 12).max((len + (16 << 10)) * 10),
            "{name}: {fetched} bytes of {len}"
        );
    }
    assert!(Scene::open(common::fixture("world.png"))
        .unwrap()
        .bytes_fetched()
        .is_none());
}

/// A COG's overviews over HTTP: listed and read as from the local file, each opened
/// from the store reading its directory and its own tiles, none of the full-resolution
/// image's.
#[test]
fn a_remote_cog_has_the_local_files_overviews() {
    let name = "utm_rgb_cog.tif";
    let server = Server::start(Mode::Good);
    let local = Scene::open(common::fixture(name)).unwrap();
    let remote = Scene::open(server.url(name)).unwrap();
    assert_eq!(local.overviews().len(), 3, "the fixture's levels");
    assert_eq!(remote.overviews(), local.overviews());
    let len = std::fs::metadata(common::fixture(name)).unwrap().len();
    let full_res: u64 = chunk_index(name).iter().map(|c| c.1).sum();
    for level in 0..local.overviews().len() {
        let before = remote.bytes_fetched().unwrap();
        let (a, b) = (
            local.overview_scene(level).unwrap(),
            remote.overview_scene(level).unwrap(),
        );
        assert_same_scene(&a, &b, &format!("{name} overview {level}"));
        let ov_bytes = remote.bytes_fetched().unwrap() - before;
        assert!(
            ov_bytes + full_res <= len,
            "overview {level}: {ov_bytes} bytes fetched, the full-resolution tiles are {full_res} of {len}"
        );
        assert!(b.chunks_decoded().unwrap() > 0);
    }
    assert_eq!(remote.chunks_decoded(), Some(0), "no full-resolution tile");
    assert_eq!(remote.bytes_fetched().unwrap(), server.bytes());
    // The smallest at least a size: the same level.
    let (a, b) = (
        local.overview_at_least(200, 200).unwrap().unwrap(),
        remote.overview_at_least(200, 200).unwrap().unwrap(),
    );
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
}

#[test]
fn a_window_fetches_about_the_bytes_of_its_chunks() {
    let name = "utm_rgb_tiled_lzw.tif";
    let server = Server::start(Mode::Good);
    let scene = Scene::open(server.url(name)).unwrap();
    let header = scene.bytes_fetched().unwrap();
    assert_eq!(header, server.bytes());
    // The header is read in 16 KiB blocks: one for this COG's directory.
    assert!(header <= 16 << 10, "{header} header bytes");

    // A window inside tiles 13 and 14 (256x256 tiles, 5 across): about their bytes.
    let index = chunk_index(name);
    let win = Window::new(3 * 256 + 200, 2 * 256 + 10, 100, 50);
    let mut buf = TileBuf::new();
    scene.read_window(win, &mut buf).unwrap();
    let window_bytes = scene.bytes_fetched().unwrap() - header;
    let chunks: u64 = [13, 14].iter().map(|&i| index[i].1).sum();
    assert!(
        window_bytes <= chunks + 1024,
        "{window_bytes} bytes fetched for chunks of {chunks} bytes"
    );
    assert!(window_bytes > 0, "these tiles lie past the header block");
    // Read again: from the cache, nothing fetched.
    let before = scene.bytes_fetched().unwrap();
    scene.read_window(win, &mut buf).unwrap();
    assert_eq!(scene.bytes_fetched().unwrap(), before);
    assert_eq!(scene.bytes_fetched().unwrap(), server.bytes());
}

#[test]
fn detections_over_http_equal_the_local_files() {
    let name = "utm_rgb_tiled_lzw.tif";
    let server = Server::start(Mode::Good);
    let detector = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .build()
        .unwrap();
    let local = detector
        .detect(&Scene::open(common::fixture(name)).unwrap())
        .unwrap();
    assert_eq!(local.len(), 16);
    let scene = Scene::open(server.url(name)).unwrap();
    let remote = detector.detect(&scene).unwrap();
    assert_eq!(
        local.items, remote.items,
        "same detections, same georeferencing"
    );
    assert_eq!(local.crs, remote.crs);
    assert_eq!(local.acquired, remote.acquired);
    let untimed = |r: &satdet::Report| satdet::Report {
        times: Default::default(),
        ..r.clone()
    };
    assert_eq!(untimed(&local.report), untimed(&remote.report));
    // The whole scene: about the file, never much more.
    let len = std::fs::metadata(common::fixture(name)).unwrap().len();
    let fetched = scene.bytes_fetched().unwrap();
    assert!(
        fetched * 10 <= len * 12,
        "{fetched} bytes fetched for a {len}-byte file"
    );
}

#[test]
fn a_flaky_server_gives_the_same_results() {
    let server = Server::start(Mode::Flaky);
    for name in ["utm_rgb_tiled_lzw.tif", "utm_pan16_strips.tif"] {
        let local = Scene::open(common::fixture(name)).unwrap();
        let remote = Scene::open(server.url(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same_scene(&local, &remote, name);
    }
    let detector = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .build()
        .unwrap();
    let name = "utm_rgb_tiled_lzw.tif";
    let local = detector
        .detect(&Scene::open(common::fixture(name)).unwrap())
        .unwrap();
    let remote = detector
        .detect(&Scene::open(server.url(name)).unwrap())
        .unwrap();
    assert_eq!(local.items, remote.items);
    assert!(
        server.stats.failures.load(Ordering::SeqCst) >= 3,
        "the server failed requests of every kind"
    );
}

#[test]
fn a_missing_object_is_a_typed_error_naming_its_url() {
    let server = Server::start(Mode::Missing);
    let url = server.url("utm_rgb_tiled_lzw.tif");
    let t = Instant::now();
    let e = Scene::open(&url).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "not retried");
    assert!(matches!(e, Error::Remote { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&url) && msg.contains("404"), "{msg}");
    assert_eq!(server.stats.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn a_png_url_is_refused_naming_it() {
    let server = Server::start(Mode::Good);
    let url = server.url("world.png");
    let e = Scene::open(&url).unwrap_err();
    assert!(matches!(e, Error::UnsupportedRaster { .. }), "{e:?}");
    assert!(e.to_string().contains(&url), "{e}");
}

#[test]
fn an_unknown_scheme_or_a_url_without_object_is_refused() {
    for url in ["ftp://127.0.0.1/x.tif", "http://127.0.0.1:9/"] {
        let e = Scene::open(url).unwrap_err();
        assert!(matches!(e, Error::Remote { .. }), "{url}: {e:?}");
        assert!(e.to_string().contains(url), "{e}");
    }
}

/// Runs test `name` alone in a child process with `env` set (and the cloud variables of
/// this machine removed), so that no other test sees them; fails when it fails.
fn in_child(name: &str, env: &[(&str, &str)]) {
    if std::env::var_os("SATDET_REMOTE_CHILD").is_some() {
        return;
    }
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"]);
    for (k, _) in std::env::vars() {
        let cloud = [
            "AWS_",
            "GOOGLE_",
            "AZURE_",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
        ]
        .iter()
        .any(|p| k.to_ascii_uppercase().starts_with(p));
        if cloud {
            cmd.env_remove(k);
        }
    }
    cmd.env("SATDET_REMOTE_CHILD", "1");
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("run the test in a child");
    assert!(
        out.status.success(),
        "{name} in a child process:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_child() -> bool {
    std::env::var_os("SATDET_REMOTE_CHILD").is_some()
}

/// `s3://bucket/key` through the S3 client, its endpoint the local server (an S3 GET
/// with a Range header is plain HTTP), unsigned.
#[test]
fn s3_reads_through_a_local_endpoint() {
    in_child(
        "s3_reads_through_a_local_endpoint",
        &[
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_SKIP_SIGNATURE", "true"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    if !is_child() {
        return;
    }
    let server = Server::start(Mode::Good);
    // Set here, in the child alone: the port is the child's server's.
    std::env::set_var("AWS_ENDPOINT", format!("http://127.0.0.1:{}", server.port));
    let name = "utm_rgb_tiled_lzw.tif";
    let remote = Scene::open(format!("s3://bucket/{name}")).unwrap();
    let local = Scene::open(common::fixture(name)).unwrap();
    assert_same_scene(&local, &remote, "s3");
    assert_eq!(remote.bytes_fetched().unwrap(), server.bytes());
}

/// Cloud stores without what they need fail quickly with a message naming the URL: no
/// bucket, no Azure account, unreadable Google credentials, an S3 endpoint that refuses
/// connections (and no instance metadata).
#[test]
fn cloud_stores_without_credentials_fail_fast() {
    // A port nothing listens on.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{closed}");
    in_child(
        "cloud_stores_without_credentials_fail_fast",
        &[
            ("AWS_ENDPOINT", &endpoint),
            ("AWS_METADATA_ENDPOINT", &endpoint),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
            (
                "GOOGLE_APPLICATION_CREDENTIALS",
                "/nonexistent/satdet-credentials.json",
            ),
        ],
    );
    if !is_child() {
        return;
    }
    for url in [
        "s3:///no-bucket.tif",
        "az://container/scene.tif",
        "gs://bucket/scene.tif",
        "s3://bucket/scene.tif",
    ] {
        let t = Instant::now();
        let e = Scene::open(url).unwrap_err();
        assert!(matches!(e, Error::Remote { .. }), "{url}: {e:?}");
        assert!(e.to_string().contains(url), "{e}");
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{url}: {:?} to fail",
            t.elapsed()
        );
        eprintln!("{url}: {e} ({:?})", t.elapsed());
    }
}

/// A scene opened, read and dropped inside a tokio runtime (an async caller's thread):
/// no panic, the same pixels.
#[test]
fn a_scene_works_inside_an_async_runtime() {
    let server = Server::start(Mode::Good);
    let name = "utm_rgb_tiled_lzw.tif";
    let url = server.url(name);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let remote = Scene::open(&url).unwrap();
        let local = Scene::open(common::fixture(name)).unwrap();
        assert_same_scene(&local, &remote, "inside a runtime");
        drop(remote);
    });
}

/// `satdet detect URL` (the example program, built by `cargo build --example satdet`):
/// the same detections as from the local file, a 404 exits 1 naming the URL.
#[test]
fn the_cli_detects_in_a_scene_given_by_url() {
    let server = Server::start(Mode::Good);
    let name = "utm_rgb_tiled_lzw.tif";
    let d = tempfile::tempdir().unwrap();
    let model = common::fixture("square_detector.onnx");
    let mut outputs = Vec::new();
    for (i, input) in [
        common::fixture(name).display().to_string(),
        server.url(name),
    ]
    .iter()
    .enumerate()
    {
        let out = d.path().join(format!("o{i}.csv"));
        let o = common::satdet(&[
            "detect".as_ref(),
            input.as_ref(),
            "--output".as_ref(),
            out.as_os_str(),
            "--model".as_ref(),
            model.as_os_str(),
        ]);
        assert!(
            o.status.success(),
            "{input}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        outputs.push(std::fs::read_to_string(&out).unwrap());
    }
    // The CSV names its scene on every row: the same once the names are equal.
    let local = outputs[0].replace(&common::fixture(name).display().to_string(), "SCENE");
    let remote = outputs[1].replace(&server.url(name), "SCENE");
    assert_eq!(local, remote);
    assert_eq!(local.lines().count(), 17, "a header and 16 objects");

    let missing = server.url("missing.tif");
    let o = common::satdet(&[
        "detect".as_ref(),
        missing.as_ref(),
        "--output".as_ref(),
        d.path().join("m.csv").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&missing) && err.contains("404"), "{err}");
}
