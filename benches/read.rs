//! The read stage alone: `cargo bench --bench read`.
//!
//! Every 640 px window (128 px overlap, the grid of the bundled model's tiles) of an
//! 8192 × 8192 8-bit RGB GeoTIFF with Deflate strips of 64 rows, read through a freshly
//! opened [`Scene`] each iteration (chunk cache cold): chunk decompression (zlib-rs) and
//! the window copies. The scene is written once to `target/bench-data/` with the `tiff`
//! crate (a textured background, so the strips do not compress to nothing).

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use satdet::raster::{TileBuf, Window};
use satdet::Scene;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tiff::encoder::{colortype, Compression, DeflateLevel, TiffEncoder};

const SIZE: u32 = 8192;
const ROWS: u32 = 64;

fn scene_path() -> PathBuf {
    common::scene("read_8192_rgb_deflate.tif", write_scene)
}

fn write_scene(path: &Path) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut enc = TiffEncoder::new(file)
        .expect("encoder")
        .with_compression(Compression::Deflate(DeflateLevel::Fast));
    let mut img = enc.new_image::<colortype::RGB8>(SIZE, SIZE).expect("image");
    img.rows_per_strip(ROWS).expect("rows per strip");
    common::utm33n_tags(img.encoder(), 0.3);
    // The whole image at once: tiff 0.11's `write_strip` tags strips Deflate but writes
    // them raw; `write_data` compresses them.
    let w = SIZE as usize;
    let mut data = vec![0u8; w * w * 3];
    for (y, row) in data.chunks_exact_mut(w * 3).enumerate() {
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            let v = (40 + ((x * 31 + y * 17) ^ (x * y)) % 96) as u8;
            px.copy_from_slice(&[v, v.wrapping_add(7), v / 2]);
        }
    }
    img.write_data(&data).expect("data");
}

fn bench(c: &mut Criterion) {
    let path = scene_path();
    let (tile, stride) = (640u32, 512u32);
    // 0, 512, ..., 7168 and 7552 (the last window ends at the edge): 16 x 16 windows,
    // the grid the detector reads.
    let n = (SIZE - tile).div_ceil(stride) + 1;
    let starts: Vec<u32> = (0..n).map(|i| (i * stride).min(SIZE - tile)).collect();
    let windows: Vec<Window> = starts
        .iter()
        .flat_map(|&y| starts.iter().map(move |&x| Window::new(x, y, tile, tile)))
        .collect();
    let mut g = c.benchmark_group("read");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Bytes(u64::from(SIZE) * u64::from(SIZE) * 3));
    eprintln!("{} windows of {tile} px", windows.len());
    g.bench_function("deflate_rgb8_all_windows", |b| {
        let mut buf = TileBuf::new();
        b.iter(|| {
            let scene = Scene::open(&path).expect("scene");
            for w in &windows {
                scene.read_window(*w, &mut buf).expect("window");
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
