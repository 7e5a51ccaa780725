//! Memory per detection, measured with a counting allocator: the constant that turns
//! `Limits::max_detection_bytes` into a candidate count must hold, and writing GeoJSON must
//! not build the whole document in memory.
//!
//! One test per binary section, run one at a time (a mutex) so the counter sees only its own
//! allocations.

use satdet::geo::PixelBox;
use satdet::postprocess::{merge_tiles, Candidate};
use satdet::{Detection, Detections, Limits};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

static SERIAL: Mutex<()> = Mutex::new(());

/// Resets the peak to the current live bytes and returns them.
fn start() -> usize {
    let now = LIVE.load(Ordering::SeqCst);
    PEAK.store(now, Ordering::SeqCst);
    now
}

fn candidates(n: usize) -> Vec<Candidate> {
    // Distinct objects 20 px apart: nothing merges away, the worst case for memory.
    let mut v = Vec::new();
    for i in 0..n {
        let (x, y) = ((i % 500) as f64 * 20.0, (i / 500) as f64 * 20.0);
        v.push(Candidate {
            bbox: PixelBox::new(x, y, x + 12.0, y + 6.0),
            oriented: None,
            score: 0.5 + (i % 7) as f32 * 0.01,
            class_id: (i % 3) as u32,
            tile: i % 2,
            clipped: false,
        });
    }
    v
}

#[test]
fn bytes_per_detection_hold_through_merge_and_georeferencing() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = 100_000;
    let base = start();
    // As the pipeline grows it: pushed one tile at a time.
    let mut cands: Vec<Candidate> = Vec::new();
    for c in candidates(n) {
        cands.push(c);
    }
    let name: Arc<str> = Arc::from("car");
    // As the pipeline does: merged in row-sized chunks, the detections appended with
    // `extend` (so with the Vec's growth slack), then sorted in place.
    let mut items: Vec<Detection> = Vec::new();
    let mut rows = cands.into_iter();
    loop {
        let chunk: Vec<Candidate> = rows.by_ref().take(5_000).collect();
        if chunk.is_empty() {
            break;
        }
        let merged = merge_tiles(chunk, 0.5, 0.7);
        items.extend(merged.into_iter().map(|c| {
            let poly = [[c.bbox.x0(), c.bbox.y0()]; 4];
            Detection {
                class_id: c.class_id,
                class_name: name.clone(),
                score: c.score,
                pixel_box: c.bbox,
                oriented: None,
                map_polygon: Some(poly),
                lonlat_polygon: Some(poly),
            }
        }));
    }
    items.sort_unstable_by(|a, b| b.score.total_cmp(&a.score));
    let peak = PEAK.load(Ordering::SeqCst) - base;
    let per = peak / n;
    eprintln!("peak {peak} bytes for {n} candidates: {per} per candidate");
    assert!(
        (per as u64) <= Limits::BYTES_PER_DETECTION,
        "{per} bytes per candidate at the peak, over Limits::BYTES_PER_DETECTION = {}",
        Limits::BYTES_PER_DETECTION
    );
    assert!(!items.is_empty());
}

#[test]
fn geojson_is_streamed_not_built_in_memory() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name: Arc<str> = Arc::from("car");
    let items: Vec<Detection> = (0..50_000)
        .map(|i| {
            let (lon, lat) = (10.0 + f64::from(i) * 1e-5, 46.0);
            Detection {
                class_id: 0,
                class_name: name.clone(),
                score: 0.9,
                pixel_box: PixelBox::new(0.0, 0.0, 10.0, 5.0),
                oriented: None,
                map_polygon: Some([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]),
                lonlat_polygon: Some([
                    [lon, lat],
                    [lon + 1e-5, lat],
                    [lon + 1e-5, lat - 1e-5],
                    [lon, lat - 1e-5],
                ]),
            }
        })
        .collect();
    let report = satdet::Report::default();
    let dets = Detections {
        items,
        scene: "scene.tif".into(),
        crs: None,
        acquired: None,
        report,
    };
    let mut sink = std::io::sink();
    let base = start();
    satdet::output::geojson::write_to(&mut sink, &dets).expect("write");
    let peak = PEAK.load(Ordering::SeqCst) - base;
    assert!(
        peak < 1 << 20,
        "{peak} bytes held while writing 50 000 features: the document is built in memory"
    );
}
