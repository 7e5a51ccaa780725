//! The tile file: a run's journal, or a shard's output. Text, one line each:
//!
//! ```text
//! satdet-tiles 1
//! job 9f2c0e4b1d7a6e55                       the job's identity (fingerprint)
//! args ["--overlap","0.2"]                   the settings that make the result (JSON)
//! scene 0 30 "/data/strip_a.tif"             index, tiles in its grid, path or URL
//! shard 2 8                                  0-based index and count, or `shard -`
//! T 0 17 0 2                                 scene, tile, skipped, candidates
//! c 412.5 96.25 431.0 108.75 0.91 0 0        x0 y0 x1 y1 score class clipped
//! c 600.0 12.0 618.5 30.0 0.47 1 1 609.2 21.0 20.5 8.0 0.6   … cx cy w h angle (oriented)
//! E 5be1c7a2093f4d18                          checksum of the block's lines
//! END 30                                     a finished shard: tiles in the file
//! ```
//!
//! Numbers are written in Rust's shortest round-trip form, so what is read back is
//! bit-for-bit what was written. Blocks are appended and synced in batches; a block
//! without its `E` line or with a wrong checksum at the end of the file is what a kill or
//! a power loss leaves: it is dropped on reading ([`TileFile::torn`]) and the tile is
//! redone. Anything wrong before the last block is an error.

use super::Shard;
use crate::error::{Error, Result};
use crate::geo::{OrientedBox, PixelBox};
use crate::pipeline::TileOutcome;
use crate::postprocess::Candidate;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The extension of shard files (`satdet merge` reads them).
pub const TILES_EXTENSION: &str = "tiles";

const MAGIC: &str = "satdet-tiles 1";
/// Longest line read (a header line with long arguments, or a candidate).
const MAX_LINE: usize = 1 << 20;

/// FNV-1a, 64 bits.
fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// A job's identity from its parts (settings, scenes, model bytes…), each
/// length-prefixed: 16 hex digits. Not cryptographic: it tells jobs apart, it does not
/// resist forgery.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut h = FNV_START;
    for p in parts {
        fnv(&mut h, &(p.len() as u64).to_le_bytes());
        fnv(&mut h, p);
    }
    format!("{h:016x}")
}

/// A scene of the job, as the tile file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SceneEntry {
    /// Path or URL, as given.
    pub path: String,
    /// Tiles in the scene's grid.
    pub tiles: usize,
}

/// What a tile file belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobHeader {
    /// The job's identity ([`fingerprint`]): scenes, model and settings.
    pub fingerprint: String,
    /// The settings that make the result (the CLI's `detect` arguments, less outputs),
    /// so that `satdet merge` can finish the job as `detect` would.
    pub args: Vec<String>,
    /// The job's scenes, in order.
    pub scenes: Vec<SceneEntry>,
    /// The shard, or `None` for a whole run's journal.
    pub shard: Option<Shard>,
}

impl JobHeader {
    fn write(&self, out: &mut String) {
        let json = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
        let _ = writeln!(out, "{MAGIC}");
        let _ = writeln!(out, "job {}", self.fingerprint);
        let args: Vec<serde_json::Value> = self
            .args
            .iter()
            .map(|a| serde_json::Value::String(a.clone()))
            .collect();
        let _ = writeln!(out, "args {}", serde_json::Value::Array(args));
        for (k, s) in self.scenes.iter().enumerate() {
            let _ = writeln!(out, "scene {k} {} {}", s.tiles, json(&s.path));
        }
        match self.shard {
            Some(s) => {
                let _ = writeln!(out, "shard {} {}", s.index, s.count);
            }
            None => {
                let _ = writeln!(out, "shard -");
            }
        }
    }

    /// Why `other` is not this job, in words, or `None` when it is.
    pub fn mismatch(&self, other: &JobHeader) -> Option<String> {
        if self.fingerprint == other.fingerprint && self.scenes == other.scenes {
            return None;
        }
        let names = |h: &JobHeader| h.scenes.iter().map(|s| s.path.clone()).collect::<Vec<_>>();
        Some(if names(self) != names(other) {
            format!(
                "it is for the scenes {:?}, this job is {:?}",
                names(other),
                names(self)
            )
        } else if self.scenes != other.scenes {
            "its scenes have other tile grids (other tile size, overlap or GSD)".into()
        } else if self.args != other.args {
            format!(
                "it was made with the settings {:?}, this job's are {:?}",
                other.args, self.args
            )
        } else {
            "the scenes' files, the model or the area of interest differ (same names, other contents)".into()
        })
    }
}

/// A tile file as read: its header and each finished tile's outcome.
#[derive(Debug, Clone)]
pub struct TileFile {
    /// What it belongs to.
    pub header: JobHeader,
    /// `(scene index, outcome)` of every finished tile, in file order.
    pub outcomes: Vec<(usize, TileOutcome)>,
    /// The file ends with `END`: a shard that finished.
    pub complete: bool,
    /// The last block was cut short (a kill, a power loss) and is left out.
    pub torn: bool,
    /// Bytes up to the end of the last whole block (where appending resumes).
    pub good_len: u64,
}

struct Lines<'a> {
    r: BufReader<File>,
    path: &'a Path,
    pos: u64,
    line_no: usize,
}

impl Lines<'_> {
    /// The next whole line (without its newline) and the offset after it; `None` at the
    /// end of the file or at a last line with no newline (a torn write).
    fn next(&mut self) -> Result<Option<String>> {
        let mut buf = Vec::new();
        let n = (&mut self.r)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(self.path, e))?;
        if n == 0 || buf.last() != Some(&b'\n') {
            if n > MAX_LINE {
                return Err(self.err(format!("a line is longer than {MAX_LINE} bytes")));
            }
            return Ok(None);
        }
        self.pos += n as u64;
        self.line_no += 1;
        buf.pop();
        String::from_utf8(buf)
            .map(Some)
            .map_err(|_| self.err("a line is not UTF-8".into()))
    }

    fn err(&self, detail: String) -> Error {
        Error::Journal {
            path: self.path.to_path_buf(),
            detail: format!("line {}: {detail}", self.line_no),
        }
    }
}

fn journal_err(path: &Path, detail: impl Into<String>) -> Error {
    Error::Journal {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// A parsed block before its checksum is checked.
fn parse_block(
    t_line: &str,
    lines: &mut Lines<'_>,
    header: &JobHeader,
) -> Result<Option<(usize, TileOutcome)>> {
    let mut h = FNV_START;
    fnv(&mut h, t_line.as_bytes());
    fnv(&mut h, b"\n");
    let f: Vec<&str> = t_line.split(' ').collect();
    let num = |s: &str, what: &str| -> Result<usize> {
        s.parse()
            .map_err(|_| lines.err(format!("{what} `{s}` is not a count")))
    };
    if f.len() != 5 {
        return Err(lines.err(format!("a tile line has {} fields, not 5", f.len())));
    }
    let scene = num(f[1], "scene")?;
    let tile = num(f[2], "tile")?;
    let skipped = match f[3] {
        "0" => false,
        "1" => true,
        s => return Err(lines.err(format!("skipped flag `{s}` is not 0 or 1"))),
    };
    let n = num(f[4], "candidate count")?;
    let Some(entry) = header.scenes.get(scene) else {
        return Err(lines.err(format!("scene {scene} is not in the header")));
    };
    if tile >= entry.tiles {
        return Err(lines.err(format!(
            "tile {tile} is outside scene {scene}'s grid of {} tiles",
            entry.tiles
        )));
    }
    if skipped && n > 0 {
        return Err(lines.err("a skipped tile has candidates".into()));
    }
    let mut candidates = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let Some(l) = lines.next()? else {
            return Ok(None);
        };
        fnv(&mut h, l.as_bytes());
        fnv(&mut h, b"\n");
        let c: Vec<&str> = l.split(' ').collect();
        if !(c.len() == 8 || c.len() == 13) || c[0] != "c" {
            return Err(lines.err("not a candidate line".into()));
        }
        let fl = |s: &str| -> Result<f64> {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| lines.err(format!("`{s}` is not a finite number")))
        };
        let score: f32 = c[5]
            .parse()
            .ok()
            .filter(|v: &f32| v.is_finite())
            .ok_or_else(|| lines.err(format!("score `{}` is not a number", c[5])))?;
        let class_id: u32 = c[6]
            .parse()
            .map_err(|_| lines.err(format!("class `{}` is not a class index", c[6])))?;
        let clipped = match c[7] {
            "0" => false,
            "1" => true,
            s => return Err(lines.err(format!("clipped flag `{s}` is not 0 or 1"))),
        };
        let oriented = match c.len() {
            13 => {
                let (w, h) = (fl(c[10])?, fl(c[11])?);
                if !(w > 0.0 && h > 0.0) {
                    return Err(lines.err(format!("oriented box sides `{w} {h}` are not positive")));
                }
                Some(OrientedBox::new(fl(c[8])?, fl(c[9])?, w, h, fl(c[12])?))
            }
            _ => None,
        };
        candidates.push(Candidate {
            bbox: PixelBox::new(fl(c[1])?, fl(c[2])?, fl(c[3])?, fl(c[4])?),
            oriented,
            score,
            class_id,
            tile,
            clipped,
        });
    }
    let Some(e) = lines.next()? else {
        return Ok(None);
    };
    let sum = format!("E {h:016x}");
    if e != sum {
        if e.starts_with("E ") {
            return Err(lines.err(format!("checksum `{e}` does not match the block (`{sum}`)")));
        }
        return Err(lines.err("a tile block does not end with its checksum".into()));
    }
    Ok(Some((
        scene,
        TileOutcome {
            tile,
            skipped,
            candidates,
        },
    )))
}

impl TileFile {
    /// Reads a journal or shard file. A last block cut short is left out and
    /// [`TileFile::torn`] set; anything else wrong is an [`Error::Journal`] naming the
    /// line.
    pub fn read(path: impl AsRef<Path>) -> Result<TileFile> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut lines = Lines {
            r: BufReader::new(file),
            path,
            pos: 0,
            line_no: 0,
        };
        let mut need = |what: &str| -> Result<String> {
            lines
                .next()?
                .ok_or_else(|| journal_err(path, format!("the header ends before its {what} line")))
        };
        let magic = need("first")?;
        if magic != MAGIC {
            return Err(journal_err(
                path,
                format!(
                    "it does not start with `{MAGIC}`: not a satdet tile file (or a newer version)"
                ),
            ));
        }
        let job = need("job")?;
        let fingerprint = job
            .strip_prefix("job ")
            .filter(|f| f.len() == 16 && f.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| journal_err(path, "line 2 is not `job <16 hex digits>`"))?
            .to_owned();
        let args_line = need("args")?;
        let args: Vec<String> = args_line
            .strip_prefix("args ")
            .and_then(|a| serde_json::from_str(a).ok())
            .ok_or_else(|| journal_err(path, "line 3 is not `args <JSON list of strings>`"))?;
        let mut scenes = Vec::new();
        let shard;
        loop {
            let l = need("shard")?;
            if let Some(rest) = l.strip_prefix("scene ") {
                let mut it = rest.splitn(3, ' ');
                let (k, n, p) = (it.next(), it.next(), it.next());
                let k: Option<usize> = k.and_then(|k| k.parse().ok());
                let n: Option<usize> = n.and_then(|n| n.parse().ok());
                let p: Option<String> = p.and_then(|p| serde_json::from_str(p).ok());
                match (k, n, p) {
                    (Some(k), Some(n), Some(p)) if k == scenes.len() => {
                        scenes.push(SceneEntry { path: p, tiles: n })
                    }
                    _ => return Err(journal_err(path, format!("bad scene line `{l}`"))),
                }
            } else if l == "shard -" {
                shard = None;
                break;
            } else if let Some(rest) = l.strip_prefix("shard ") {
                let v: Vec<usize> = rest.split(' ').filter_map(|x| x.parse().ok()).collect();
                match v.as_slice() {
                    [i, n] => shard = Some(Shard::new(*i, *n)?),
                    _ => return Err(journal_err(path, format!("bad shard line `{l}`"))),
                }
                break;
            } else {
                return Err(journal_err(path, format!("unexpected header line `{l}`")));
            }
        }
        let header = JobHeader {
            fingerprint,
            args,
            scenes,
            shard,
        };
        let mut out = TileFile {
            header,
            outcomes: Vec::new(),
            complete: false,
            torn: false,
            good_len: lines.pos,
        };
        let mut seen = std::collections::HashSet::new();
        loop {
            let Some(l) = lines.next()? else {
                // A last line without its newline is a torn write.
                out.torn = lines.pos
                    < std::fs::metadata(path)
                        .map_err(|e| Error::io(path, e))?
                        .len();
                break;
            };
            if let Some(n) = l.strip_prefix("END ") {
                let n: usize = n
                    .parse()
                    .map_err(|_| lines.err(format!("`{l}` is not `END <tiles>`")))?;
                if n != out.outcomes.len() {
                    return Err(lines.err(format!(
                        "the file says it holds {n} tiles, it holds {}",
                        out.outcomes.len()
                    )));
                }
                if lines.next()?.is_some() {
                    return Err(lines.err("lines after END".into()));
                }
                out.complete = true;
                out.good_len = lines.pos;
                break;
            }
            if !l.starts_with("T ") {
                return Err(lines.err(format!(
                    "expected a tile block, found `{}`",
                    crate::error::snippet(&l)
                )));
            }
            match parse_block(&l, &mut lines, &out.header) {
                Ok(Some((scene, t))) => {
                    if !seen.insert((scene, t.tile)) {
                        return Err(
                            lines.err(format!("tile {} of scene {scene} appears twice", t.tile))
                        );
                    }
                    out.outcomes.push((scene, t));
                    out.good_len = lines.pos;
                }
                // The file ends inside the block: a torn write.
                Ok(None) => {
                    out.torn = true;
                    break;
                }
                Err(e) => {
                    // A bad last block (a power loss can leave garbage in the last page)
                    // is a torn write; a bad block with more after it is corruption.
                    let mut rest = Vec::new();
                    let _ = (&mut lines.r).take(1 << 16).read_to_end(&mut rest);
                    let more_blocks =
                        rest.starts_with(b"T ") || rest.windows(3).any(|w| w == b"\nT ");
                    if more_blocks {
                        return Err(e);
                    }
                    out.torn = true;
                    break;
                }
            }
        }
        Ok(out)
    }
}

use std::io::Read as _;

/// Appends tile blocks to a journal or shard file, syncing in batches.
#[derive(Debug)]
pub struct TileFileWriter {
    file: BufWriter<File>,
    path: PathBuf,
    tiles: usize,
    line: String,
}

impl TileFileWriter {
    /// A new file (replacing any), its header written and synced. The header is written
    /// beside it and renamed into place, so the file never exists with half a header.
    pub fn create(path: impl AsRef<Path>, header: &JobHeader) -> Result<TileFileWriter> {
        let path = path.as_ref().to_path_buf();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".new");
        let tmp = PathBuf::from(tmp);
        let mut s = String::new();
        header.write(&mut s);
        {
            let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            f.write_all(s.as_bytes()).map_err(|e| Error::io(&tmp, e))?;
            f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(TileFileWriter {
            file: BufWriter::new(file),
            path,
            tiles: 0,
            line: String::new(),
        })
    }

    /// Continues the file at `path` if it belongs to `header`'s job: returns the writer,
    /// positioned after the last whole block (a torn block is cut off), and the outcomes
    /// already there. A file of another job is an [`Error::Journal`] saying what differs.
    pub fn resume(
        path: impl AsRef<Path>,
        header: &JobHeader,
    ) -> Result<(TileFileWriter, TileFile)> {
        let path = path.as_ref().to_path_buf();
        let found = TileFile::read(&path)?;
        if let Some(why) = header.mismatch(&found.header) {
            return Err(journal_err(
                &path,
                format!("it belongs to another job: {why}; delete it, or run without --resume to start over"),
            ));
        }
        if found.header.shard != header.shard {
            let show =
                |s: Option<Shard>| s.map_or("a whole run".to_string(), |s| format!("shard {s}"));
            return Err(journal_err(
                &path,
                format!(
                    "it is {}, this run is {}",
                    show(found.header.shard),
                    show(header.shard)
                ),
            ));
        }
        let mut file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        // Cut a torn block or an END (a finished file is continued with nothing to add,
        // and ended again).
        let keep = if found.complete {
            found.good_len - format!("END {}\n", found.outcomes.len()).len() as u64
        } else {
            found.good_len
        };
        file.set_len(keep).map_err(|e| Error::io(&path, e))?;
        file.seek(SeekFrom::Start(keep))
            .map_err(|e| Error::io(&path, e))?;
        file.sync_all().map_err(|e| Error::io(&path, e))?;
        let w = TileFileWriter {
            file: BufWriter::new(file),
            path,
            tiles: found.outcomes.len(),
            line: String::new(),
        };
        Ok((w, found))
    }

    /// Appends one tile's block (buffered: [`TileFileWriter::sync`] makes it durable).
    pub fn append(&mut self, scene: usize, t: &TileOutcome) -> Result<()> {
        let s = &mut self.line;
        s.clear();
        let _ = writeln!(
            s,
            "T {scene} {} {} {}",
            t.tile,
            u8::from(t.skipped),
            t.candidates.len()
        );
        for c in &t.candidates {
            let b = c.bbox;
            let _ = write!(
                s,
                "c {:?} {:?} {:?} {:?} {:?} {} {}",
                b.x0(),
                b.y0(),
                b.x1(),
                b.y1(),
                c.score,
                c.class_id,
                u8::from(c.clipped)
            );
            if let Some(o) = c.oriented {
                let [cx, cy, w, h, a] = o.to_array();
                let _ = write!(s, " {cx:?} {cy:?} {w:?} {h:?} {a:?}");
            }
            s.push('\n');
        }
        let mut h = FNV_START;
        fnv(&mut h, s.as_bytes());
        let _ = writeln!(s, "E {h:016x}");
        self.file
            .write_all(s.as_bytes())
            .map_err(|e| Error::io(&self.path, e))?;
        self.tiles += 1;
        Ok(())
    }

    /// Writes what is buffered and waits for the disk (`fsync`).
    pub fn sync(&mut self) -> Result<()> {
        self.file.flush().map_err(|e| Error::io(&self.path, e))?;
        self.file
            .get_ref()
            .sync_data()
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Ends the file with `END` (a finished shard) and syncs it.
    pub fn finish(mut self) -> Result<()> {
        let end = format!("END {}\n", self.tiles);
        self.file
            .write_all(end.as_bytes())
            .map_err(|e| Error::io(&self.path, e))?;
        self.sync()
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> JobHeader {
        JobHeader {
            fingerprint: fingerprint(&[b"a", b"b"]),
            args: vec!["--overlap".into(), "0.2".into()],
            scenes: vec![
                SceneEntry {
                    path: "/d/a b.tif".into(),
                    tiles: 30,
                },
                SceneEntry {
                    path: "https://x/y.tif".into(),
                    tiles: 4,
                },
            ],
            shard: Some(Shard::new(1, 3).unwrap()),
        }
    }

    fn outcome(tile: usize, n: usize) -> TileOutcome {
        TileOutcome {
            tile,
            skipped: n == 0 && tile.is_multiple_of(2),
            candidates: (0..n)
                .map(|i| Candidate {
                    bbox: PixelBox::new(0.1 + i as f64 / 3.0, 2.0, 1e-7 + 5.5, 1_234.567_890_123),
                    // Every third an oriented box, whose five numbers must come back too.
                    oriented: (i % 3 == 2).then(|| {
                        OrientedBox::new(3.1 + i as f64 / 7.0, 600.3, 21.7, 8.9, 0.1 + i as f64)
                    }),
                    score: 0.1 + 0.7 / (i as f32 + 1.0),
                    class_id: i as u32,
                    tile,
                    clipped: i % 2 == 1,
                })
                .collect(),
        }
    }

    #[test]
    fn round_trips_exactly_and_drops_a_torn_block() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.tiles");
        let mut w = TileFileWriter::create(&p, &header()).unwrap();
        let written: Vec<(usize, TileOutcome)> = (0..6)
            .map(|t| (t % 2, outcome(t % 4, t)))
            .filter(|(s, o)| o.tile < [30, 4][*s])
            .collect();
        let mut uniq = std::collections::HashSet::new();
        let written: Vec<_> = written
            .into_iter()
            .filter(|(s, o)| uniq.insert((*s, o.tile)))
            .collect();
        for (s, o) in &written {
            w.append(*s, o).unwrap();
        }
        w.sync().unwrap();
        drop(w);
        let full = std::fs::read(&p).unwrap();
        let back = TileFile::read(&p).unwrap();
        assert_eq!(back.header, header());
        assert_eq!(back.outcomes, written);
        assert!(!back.torn && !back.complete);
        // Every cut inside the last block is a torn write, never an error or a partial tile.
        let last_start = full.len() - {
            let s = String::from_utf8(full.clone()).unwrap();
            s.len() - s.rfind("\nT ").unwrap() - 1
        };
        for cut in last_start..full.len() {
            std::fs::write(&p, &full[..cut]).unwrap();
            let r = TileFile::read(&p).unwrap();
            assert_eq!(r.outcomes, written[..written.len() - 1], "cut at {cut}");
            assert_eq!(r.torn, cut > last_start, "cut at {cut}");
            assert_eq!(r.good_len as usize, last_start);
        }
        // Resuming cuts the torn block and appends after it.
        std::fs::write(&p, &full[..full.len() - 3]).unwrap();
        let (mut w, found) = TileFileWriter::resume(&p, &header()).unwrap();
        assert_eq!(found.outcomes.len(), written.len() - 1);
        let (s, o) = written.last().unwrap();
        w.append(*s, o).unwrap();
        w.finish().unwrap();
        let done = TileFile::read(&p).unwrap();
        assert!(done.complete);
        assert_eq!(done.outcomes, written);
        let mut expect = full.clone();
        expect.extend_from_slice(format!("END {}\n", written.len()).as_bytes());
        assert_eq!(std::fs::read(&p).unwrap(), expect);
    }

    #[test]
    fn another_job_or_corruption_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.tiles");
        let mut w = TileFileWriter::create(&p, &header()).unwrap();
        w.append(0, &outcome(3, 2)).unwrap();
        w.append(0, &outcome(5, 1)).unwrap();
        w.sync().unwrap();
        drop(w);
        let mut other = header();
        other.args.push("--confidence".into());
        other.fingerprint = fingerprint(&[b"other"]);
        let e = TileFileWriter::resume(&p, &other).unwrap_err().to_string();
        assert!(
            e.contains("another job") && e.contains("--confidence"),
            "{e}"
        );
        let mut other_shard = header();
        other_shard.shard = None;
        assert!(TileFileWriter::resume(&p, &other_shard).is_err());
        // A flipped digit in the first block (with a block after it) is corruption.
        let text = std::fs::read_to_string(&p).unwrap();
        let bad = text.replacen("c 0.1 ", "c 0.2 ", 1);
        assert_ne!(bad, text);
        std::fs::write(&p, bad).unwrap();
        let e = TileFile::read(&p).unwrap_err().to_string();
        assert!(e.contains("checksum") && e.contains("j.tiles"), "{e}");
        // An oriented candidate line cut short, or with a side of 0, is an error naming it.
        let mut w = TileFileWriter::create(&p, &header()).unwrap();
        w.append(0, &outcome(3, 3)).unwrap();
        w.append(0, &outcome(5, 1)).unwrap();
        w.sync().unwrap();
        drop(w);
        let text = std::fs::read_to_string(&p).unwrap();
        let line = text
            .lines()
            .find(|l| l.split(' ').count() == 13)
            .expect("an oriented line")
            .to_string();
        let f: Vec<&str> = line.split(' ').collect();
        for (bad, want) in [
            (f[..12].join(" "), "not a candidate line"),
            (
                [&f[..10], &["0"], &f[11..]].concat().join(" "),
                "not positive",
            ),
        ] {
            std::fs::write(&p, text.replacen(&line, &bad, 1)).unwrap();
            let e = TileFile::read(&p).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        std::fs::write(&p, "hello\n").unwrap();
        assert!(TileFile::read(&p)
            .unwrap_err()
            .to_string()
            .contains("not a satdet tile file"));
    }
}
