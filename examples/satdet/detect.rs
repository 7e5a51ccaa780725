//! `satdet detect`: find objects in scenes and write them in any format satdet writes.

use clap::ValueEnum;
use satdet::{Detector, Device, Preprocess};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub(crate) enum PreprocessArg {
    Cpu,
    Gpu,
    Auto,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub(crate) enum DeviceArg {
    Cpu,
    Cuda,
    /// TensorRT, with CUDA for the nodes TensorRT does not take (feature `tensorrt`).
    Tensorrt,
}

/// A model output layout named on the command line (`satdet::inference::LayoutKind`).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub(crate) enum LayoutArg {
    /// [B, 4+C, N]: YOLOv8/v11.
    V8,
    /// [B, N, 5+C]: YOLOv5/v7.
    V5,
    /// [B, K, 6]: x0, y0, x1, y1, score, class (YOLOv10, NMS inside).
    End2end,
    /// [B, K, 4+C]: normalised cx, cy, w, h and class scores (RT-DETR).
    Rtdetr,
    /// [B, 4+C+1, N]: oriented boxes, the angle in radians in the last row (YOLO-OBB).
    Obb,
}

impl LayoutArg {
    fn kind(self) -> satdet::inference::LayoutKind {
        use satdet::inference::LayoutKind;
        match self {
            LayoutArg::V8 => LayoutKind::V8,
            LayoutArg::V5 => LayoutKind::V5,
            LayoutArg::End2end => LayoutKind::EndToEnd,
            LayoutArg::Rtdetr => LayoutKind::RtDetr,
            LayoutArg::Obb => LayoutKind::Obb,
        }
    }
}

/// Options of `satdet detect`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Scenes: GeoTIFFs (local paths or http(s)/s3/gs/az URLs), PNG/JPEG with a world
    /// file, folders (their rasters, sorted by name) or list files (`.txt`/`.lst`, one path
    /// or URL per line). Several scenes are one job: objects in the overlap of two scenes
    /// are reported once.
    #[arg(required = true, num_args = 1..)]
    pub(crate) inputs: Vec<PathBuf>,
    /// Where to write the detections, in WGS84; the format from the extension: `.geojson`
    /// (or `.json`), `.kml`, `.kmz`, `.csv`, `.gpkg`, `.fgb`. Written atomically; never
    /// over an input. With a shard (`--shard`, or a SLURM/Kubernetes array), a `.tiles`
    /// path: shard I of N writes `NAME.I-of-N.tiles` beside it, for `satdet merge`.
    #[arg(long, short)]
    pub(crate) output: PathBuf,
    /// Stop at the first scene that fails (default: report it and go on with the others).
    #[arg(long)]
    pub(crate) fail_fast: bool,
    /// Continue a run that was killed: the tiles in its journal (`OUTPUT.journal`, or the
    /// shard's `.tiles` file) are not redone. A journal of another job is refused.
    #[arg(long)]
    pub(crate) resume: bool,
    /// Run only the I-th of N parts of the job's tiles (I from 1), writing a `.tiles` file
    /// for `satdet merge`. Without it, SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or
    /// JOB_COMPLETION_INDEX (with --shard-count) choose the shard.
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<String>,
    /// The number of shards of a Kubernetes Indexed Job (its `completions`), read with
    /// JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "N")]
    pub(crate) shard_count: Option<usize>,
    /// Only look inside this area: a polygon, multipolygon or line in GeoJSON (WGS84
    /// unless it names its CRS) or KML. Tiles outside it are not read; detections whose
    /// centre is outside it are dropped.
    #[arg(long, value_name = "FILE")]
    pub(crate) aoi: Option<PathBuf>,
    /// Grow the area of interest by this many metres (needed for a line, e.g. a river's
    /// centre line).
    #[arg(
        long,
        value_name = "METRES",
        requires = "aoi",
        allow_negative_numbers = true
    )]
    pub(crate) aoi_buffer: Option<f64>,
    /// The scene's acquisition date (YYYY-MM-DD), overriding the file's TIFF DateTime.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub(crate) date: Option<String>,
    /// Use the bundled model's INT8 variant: 1.7-1.8x faster on one CPU core, car AP
    /// within 0.01 of the float model, weaker on trucks and excavators (models/README.md).
    #[arg(long, conflicts_with = "model")]
    pub(crate) int8: bool,
    /// ONNX detector (default: the bundled model).
    #[arg(long)]
    pub(crate) model: Option<PathBuf>,
    /// Tile side in scene pixels, 8 to 16384 (default: the model's input size).
    #[arg(long, value_parser = clap::value_parser!(u32).range(8..=16384))]
    pub(crate) tile: Option<u32>,
    /// Overlap between tiles, as a fraction of the tile.
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    pub(crate) overlap: f64,
    /// Minimum confidence (default: the model's suggestion).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) confidence: Option<f32>,
    /// NMS IoU threshold (default: the model's suggestion).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) iou: Option<f32>,
    /// Model input side in pixels, for a model exported with symbolic height and width
    /// (default: its `imgsz`, e.g. 640): larger windows, less overlap through the model;
    /// pair with a smaller --overlap to keep the overlap in pixels (1280 with 0.1 = 640
    /// with 0.2)
    #[arg(long, value_name = "PX", value_parser = clap::value_parser!(u32).range(1..=16384))]
    pub(crate) input_size: Option<u32>,
    /// The model's output layout, for a model whose output shape fits more than one (the
    /// error says which); default: worked out from the shape and metadata
    #[arg(long, value_enum)]
    pub(crate) layout: Option<LayoutArg>,
    /// Tiles per inference batch, 1 to 1024 (lowered to fit memory limits, with a warning)
    /// [default: 2 on the CPU, 8 on CUDA and TensorRT]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) batch: Option<u64>,
    /// Preprocessing backend.
    #[arg(long, value_enum, default_value_t = PreprocessArg::Cpu)]
    pub(crate) preprocess: PreprocessArg,
    /// Inference device. `cuda` and `tensorrt` need satdet built with that feature and
    /// onnxruntime-gpu (TensorRT also its libraries); either unavailable is an error, never
    /// a CPU fallback. TensorRT caches its engines (SATDET_TENSORRT_CACHE, else
    /// ~/.cache/satdet/tensorrt): the first run with a model and batch size builds them.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub(crate) device: DeviceArg,
    /// The CUDA device index for `--device cuda|tensorrt` [default: 0]; an error with
    /// `--device cpu`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..))]
    pub(crate) device_id: Option<i32>,
    /// The scene's ground sample distance in metres per pixel, overriding the one computed
    /// from its georeferencing.
    #[arg(long, value_name = "M", allow_negative_numbers = true)]
    pub(crate) gsd: Option<f64>,
    /// Do not resample tiles to the model's training GSD.
    #[arg(long)]
    pub(crate) no_gsd_match: bool,
    /// The scene bands fed to the model as red, green and blue, counted from 1 as GDAL
    /// counts them (`3,2,1` for a blue, green, red, near-infrared delivery), or one band fed
    /// as grey [default: the bands the file names red, green and blue, else the first
    /// three, or a single band as grey].
    #[arg(long, value_name = "R,G,B", value_delimiter = ',', num_args = 1)]
    pub(crate) bands: Option<Vec<u16>>,
    /// Keep the run's peak memory near this many MiB (at least 256): sizes the chunk cache
    /// and the detections (an eighth each) and lowers the batch to fit (default: no
    /// budget; on the CPU the defaults stay under 512 MiB, see the README).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(256..=1_048_576))]
    pub(crate) max_memory: Option<u64>,
    /// Also write a quick-look (`.png`, `.jpg` or `.jpeg`) with the boxes drawn.
    #[arg(long)]
    pub(crate) quicklook: Option<PathBuf>,
}

impl Args {
    /// The detector these options describe.
    pub(crate) fn detector(&self) -> satdet::Result<Detector> {
        if self.device == DeviceArg::Cpu && self.device_id.is_some() {
            return Err(satdet::Error::Config(
                "--device-id picks a GPU for --device cuda or tensorrt; it means nothing with --device cpu".into(),
            ));
        }
        let device_id = self.device_id.unwrap_or(0);
        let mut b = Detector::builder()
            .overlap(self.overlap)
            .preprocess(match self.preprocess {
                PreprocessArg::Cpu => Preprocess::Cpu,
                PreprocessArg::Gpu => Preprocess::Gpu,
                PreprocessArg::Auto => Preprocess::Auto,
            })
            .device(match self.device {
                DeviceArg::Cpu => Device::Cpu,
                DeviceArg::Cuda => Device::Cuda { device_id },
                DeviceArg::Tensorrt => Device::TensorRt { device_id },
            });
        if let Some(px) = self.input_size {
            b = b.input_size(px);
        }
        if let Some(l) = self.layout {
            b = b.layout(l.kind());
        }
        if let Some(n) = self.batch {
            b = b.batch_size(usize::try_from(n).unwrap_or(1024));
        }
        if let Some(m) = &self.model {
            b = b.model(m);
        }
        if self.int8 {
            b = b.int8();
        }
        if let Some(path) = &self.aoi {
            let mut aoi = satdet::geo::Aoi::from_file(path)?;
            if let Some(m) = self.aoi_buffer {
                aoi = aoi.buffer_m(m)?;
            }
            b = b.aoi(aoi);
        }
        if let Some(g) = self.gsd {
            b = b.scene_gsd(g);
        }
        b = b.match_gsd(!self.no_gsd_match);
        if let Some(bands) = &self.bands {
            b = b.bands(bands.clone());
        }
        if let Some(t) = self.tile {
            b = b.tile_size(t);
        }
        if let Some(c) = self.confidence {
            b = b.confidence(c);
        }
        if let Some(i) = self.iou {
            b = b.iou(i);
        }
        if let Some(m) = self.max_memory {
            b = b.max_memory(m << 20);
        }
        b.build()
    }

    /// The limits scenes are opened with (their chunk cache is theirs).
    pub(crate) fn limits(&self) -> satdet::Limits {
        match self.max_memory {
            Some(m) => satdet::Limits::for_memory(m << 20),
            None => satdet::Limits::default(),
        }
    }

    /// The options that make the result, as `detect` arguments (what a journal or shard
    /// file records, and `satdet merge` finishes the job with). Batch size and the
    /// preprocessing backend do not change results (the CPU and WGSL paths are
    /// bit-identical); the inference device may, so it is recorded.
    pub(crate) fn settings(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        let mut opt = |k: &str, val: Option<String>| {
            if let Some(x) = val {
                v.push(k.into());
                v.push(x);
            }
        };
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
        opt("--model", path(&self.model));
        opt("--aoi", path(&self.aoi));
        opt("--aoi-buffer", self.aoi_buffer.map(|x| format!("{x:?}")));
        opt("--date", self.date.clone());
        opt("--tile", self.tile.map(|x| x.to_string()));
        opt("--input-size", self.input_size.map(|x| x.to_string()));
        opt("--layout", self.layout.map(|l| l.kind().name().to_string()));
        opt("--overlap", Some(format!("{:?}", self.overlap)));
        opt("--confidence", self.confidence.map(|x| format!("{x:?}")));
        opt("--iou", self.iou.map(|x| format!("{x:?}")));
        opt("--gsd", self.gsd.map(|x| format!("{x:?}")));
        opt(
            "--bands",
            self.bands
                .as_ref()
                .map(|b| b.iter().map(u16::to_string).collect::<Vec<_>>().join(",")),
        );
        match self.device {
            DeviceArg::Cpu => {}
            DeviceArg::Cuda => opt("--device", Some("cuda".into())),
            DeviceArg::Tensorrt => opt("--device", Some("tensorrt".into())),
        }
        if self.no_gsd_match {
            v.push("--no-gsd-match".into());
        }
        if self.int8 {
            v.push("--int8".into());
        }
        v
    }
}

/// Runs `satdet detect`.
pub fn run(args: Args) -> satdet::Result<()> {
    crate::job::detect(args)
}
