//! TIFF headers that claim more than their data can back: absurd chunk geometries and
//! decompression bombs fail at `Scene::open`, fast, with a typed error naming the file.

mod craft;

use craft::{gray8, Val, DATA_START};
use satdet::raster::{TileBuf, Window};
use satdet::{Error, Limits, Scene};
use std::time::{Duration, Instant};

/// Opening takes well under this, whatever the header claims.
const FAST: Duration = Duration::from_secs(5);

fn zlib(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(bytes).expect("deflate");
    z.finish().expect("deflate")
}

/// A 20 000 × 20 000 Deflate scene in strips of 64 rows (1.28 MB each), every strip the
/// same 1.3 KB stream of zeros: a 4 KB file that decompresses to 400 MB (scaled up, the
/// 112 KB file of the issue claimed a scene that took 7 minutes to fail).
#[test]
fn deflate_bomb_of_shared_strips_fails_at_open() {
    let (w, h, rows) = (20_000u32, 20_000u32, 64u32);
    let stream = zlib(&vec![0u8; (w * rows) as usize]);
    let strips = h.div_ceil(rows) as usize;
    let mut tags = gray8(w, h, 8);
    tags.push((273, Val::Long(vec![DATA_START; strips])));
    tags.push((278, Val::Long(vec![rows])));
    let last = (h - (strips as u32 - 1) * rows) * w;
    let mut counts = vec![stream.len() as u32; strips];
    // The last, shorter strip is the same stream too (its decoder stops once full).
    counts[strips - 1] = stream.len() as u32;
    assert!(last > 0);
    tags.push((279, Val::Long(counts)));
    let (_dir, path) = craft::write("bomb.tif", &craft::tiff(tags, &stream));
    assert!(std::fs::metadata(&path).expect("len").len() < 8_000);
    let t = Instant::now();
    let e = Scene::open(&path).unwrap_err();
    assert!(t.elapsed() < FAST, "{:?}", t.elapsed());
    assert!(matches!(e, Error::CorruptRaster { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("bomb.tif") && msg.contains("sharing"), "{msg}");
}

/// One strip whose 30-byte stream cannot possibly hold the 1.28 MB its header claims: an
/// error before any decompression, not after.
#[test]
fn chunk_too_small_for_its_claim_fails_at_open() {
    let (w, h) = (20_000u32, 64u32);
    let stream = zlib(&[0u8; 100]);
    let mut tags = gray8(w, h, 8);
    tags.push((273, Val::Long(vec![DATA_START])));
    tags.push((278, Val::Long(vec![h])));
    tags.push((279, Val::Long(vec![stream.len() as u32])));
    let (_dir, path) = craft::write("short.tif", &craft::tiff(tags, &stream));
    let e = Scene::open(&path).unwrap_err();
    assert!(matches!(e, Error::CorruptRaster { .. }), "{e:?}");
    assert!(e.to_string().contains("cannot hold"), "{e}");

    // The same stream claiming only what it holds opens and reads.
    let mut tags = gray8(100, 1, 8);
    tags.push((273, Val::Long(vec![DATA_START])));
    tags.push((278, Val::Long(vec![1])));
    tags.push((279, Val::Long(vec![stream.len() as u32])));
    let (_dir, path) = craft::write("fine.tif", &craft::tiff(tags, &stream));
    let s = Scene::open(&path).expect("open");
    let mut buf = TileBuf::new();
    s.read_window(Window::new(0, 0, 100, 1), &mut buf)
        .expect("read");
}

/// A chunk whose bytes lie past the end of the file (a truncated download) is refused at
/// open, naming the chunk.
#[test]
fn chunk_past_the_end_of_the_file_fails_at_open() {
    let mut tags = gray8(16, 16, 1);
    tags.push((273, Val::Long(vec![DATA_START])));
    tags.push((278, Val::Long(vec![16])));
    tags.push((279, Val::Long(vec![256])));
    let (_dir, path) = craft::write("cut.tif", &craft::tiff(tags, &[9u8; 100]));
    let e = Scene::open(&path).unwrap_err();
    assert!(matches!(e, Error::CorruptRaster { .. }), "{e:?}");
    assert!(
        e.to_string().contains("chunk 0") && e.to_string().contains("past the end"),
        "{e}"
    );
}

/// 1 024 × 1 024 pixels in 16 × 16 tiles (4 096 tiles), all sharing one uncompressed tile:
/// under limits whose strip/tile index budget holds fewer chunks, a `Limits` error naming
/// the file, before any of it is read. With the default limits it opens and reads.
#[test]
fn tiny_tiles_beyond_the_index_budget_are_a_limits_error() {
    let tiles = 64 * 64;
    let mut tags = gray8(1024, 1024, 1);
    tags.push((322, Val::Short(vec![16])));
    tags.push((323, Val::Short(vec![16])));
    tags.push((324, Val::Long(vec![DATA_START; tiles])));
    tags.push((325, Val::Long(vec![256; tiles])));
    let (_dir, path) = craft::write("tiny_tiles.tif", &craft::tiff(tags, &[5u8; 256]));
    let mut limits = Limits::default();
    limits.max_window_bytes = 1 << 20;
    let e = Scene::open_with_limits(&path, &limits).unwrap_err();
    assert!(
        matches!(&e, Error::Limits { context, .. } if context.contains("tiny_tiles.tif")),
        "{e:?}"
    );
    // Uncompressed data shared by many tiles can decode to no more than the file: the
    // same bytes-per-file rule as for the Deflate bomb.
    let e = Scene::open(&path).unwrap_err();
    assert!(e.to_string().contains("sharing"), "{e}");
}

/// The same tiny-tile geometry with every tile stored: opens under the default limits and
/// reads correctly through a cache that counts each tile's overhead.
#[test]
fn tiny_tiles_within_the_limits_read_correctly() {
    let (w, h, t) = (256u32, 64u32, 16u32);
    let tiles = ((w / t) * (h / t)) as usize;
    let tile_bytes = (t * t) as usize;
    let data: Vec<u8> = (0..tiles * tile_bytes)
        .map(|i| (i / tile_bytes) as u8)
        .collect();
    let offsets = (0..tiles)
        .map(|i| DATA_START + (i * tile_bytes) as u32)
        .collect();
    let mut tags = gray8(w, h, 1);
    tags.push((322, Val::Short(vec![t as u16])));
    tags.push((323, Val::Short(vec![t as u16])));
    tags.push((324, Val::Long(offsets)));
    tags.push((325, Val::Long(vec![tile_bytes as u32; tiles])));
    let (_dir, path) = craft::write("small_tiles.tif", &craft::tiff(tags, &data));
    let mut limits = Limits::default();
    limits.chunk_cache_bytes = 1;
    let s = Scene::open_with_limits(&path, &limits).expect("open");
    let mut buf = TileBuf::new();
    s.read_window(Window::new(5, 3, 200, 50), &mut buf)
        .expect("read");
    for (x, y) in [(0u32, 0u32), (199, 49), (20, 30)] {
        let tile = ((y + 3) / t) * (w / t) + (x + 5) / t;
        assert_eq!(buf.get(x, y, 0), tile as u16, "({x},{y})");
    }
}
