//! Where a TIFF's bytes come from: a local file or an object in storage
//! ([`super::remote`]), behind one small trait, [`ByteSource`], that reads a batch of byte
//! ranges at once (a remote source fetches them concurrently). [`BlockReader`] gives the
//! `tiff` crate the `Read + Seek` it parses the header with, in cached blocks.

use crate::error::{Error, Result};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Random access to the bytes of one immutable file or object.
pub(crate) trait ByteSource: Send + Sync {
    /// The file or URL, for messages.
    fn name(&self) -> &Path;
    /// Its length in bytes.
    fn len(&self) -> u64;
    /// The bytes of each range, in order. Every range lies inside `0..len()` (callers
    /// check); a source may read them in any order and concurrently.
    fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>>;
    /// Bytes read (from the disk, or received from the store) so far.
    fn bytes_fetched(&self) -> u64;
    /// The size of the blocks [`BlockReader`] reads the header in: small for a remote
    /// object (each block is a request), larger for a file.
    fn header_block_bytes(&self) -> u64;
}

/// A local file, read with seeks under a lock.
pub(crate) struct FileBytes {
    path: PathBuf,
    file: Mutex<File>,
    len: u64,
    fetched: AtomicU64,
}

impl FileBytes {
    pub fn open(path: &Path) -> Result<FileBytes> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        Ok(FileBytes {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            len,
            fetched: AtomicU64::new(0),
        })
    }
}

impl ByteSource for FileBytes {
    fn name(&self) -> &Path {
        &self.path
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let mut file = self
            .file
            .lock()
            .map_err(|_| Error::Internal("an earlier file read panicked".into()))?;
        let mut out = Vec::with_capacity(ranges.len());
        for r in ranges {
            let n = usize::try_from(r.end.saturating_sub(r.start))
                .map_err(|_| Error::corrupt(&self.path, format!("byte range {r:?}")))?;
            let mut b = vec![0u8; n];
            file.seek(SeekFrom::Start(r.start))
                .map_err(|e| Error::io(&self.path, e))?;
            file.read_exact(&mut b).map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    // The length was checked at open: the file shrank since.
                    Error::CorruptRaster {
                        path: self.path.clone(),
                        detail: format!("bytes {}..{}: past the end of the file", r.start, r.end),
                        source: Some(Box::new(e)),
                    }
                } else {
                    Error::io(&self.path, e)
                }
            })?;
            self.fetched.fetch_add(n as u64, Ordering::Relaxed);
            out.push(Bytes::from(b));
        }
        Ok(out)
    }
    fn bytes_fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }
    fn header_block_bytes(&self) -> u64 {
        64 << 10
    }
}

/// Most header blocks a [`BlockReader`] keeps (the oldest is dropped past it): with 16 KiB
/// remote blocks, 4 MiB of header and chunk index; a larger index is re-read as needed.
const MAX_HEADER_BLOCKS: usize = 256;

/// `Read + Seek` over a [`ByteSource`], in blocks of [`ByteSource::header_block_bytes`]
/// kept in a small cache: for the `tiff` crate, which parses the header with many small
/// reads and seeks. A read that spans missing blocks fetches them in one batch.
pub(crate) struct BlockReader {
    src: Arc<dyn ByteSource>,
    pos: u64,
    block: u64,
    blocks: HashMap<u64, Bytes>,
    order: VecDeque<u64>,
}

/// Our error back out of the `std::io::Error` a [`BlockReader`] wrapped it in (the
/// `tiff` crate reads through `std::io`); any other I/O error as it was.
pub(crate) fn source_error(e: std::io::Error) -> std::result::Result<Error, std::io::Error> {
    if !e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return Err(e);
    }
    match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(ours)) => Ok(*ours),
        _ => Err(std::io::Error::other("an I/O error was lost")),
    }
}

/// The most bytes of header blocks kept after opening, to serve the chunks that lie in
/// them (the first blocks: a small COG's first tiles follow its header).
const KEEP_HEADER_BYTES: u64 = 1 << 20;

impl BlockReader {
    pub fn new(src: Arc<dyn ByteSource>) -> Self {
        BlockReader {
            block: src.header_block_bytes().max(1),
            src,
            pos: 0,
            blocks: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The source read.
    pub fn source(&self) -> Arc<dyn ByteSource> {
        self.src.clone()
    }

    /// A reader whose first block is already read (by the caller that looked at the
    /// first bytes to tell the format).
    pub fn with_first_block(mut self, first: Bytes) -> Self {
        if first.len() as u64 == self.block.min(self.src.len()) {
            self.blocks.insert(0, first);
            self.order.push_back(0);
        }
        self
    }

    /// The file's first block, when it is cached (to seed another reader of the same
    /// source with [`BlockReader::with_first_block`]).
    pub fn first_block(&self) -> Option<Bytes> {
        self.blocks.get(&0).cloned()
    }

    /// The blocks read so far, by their first byte's offset (to serve chunks that lie in
    /// the header's blocks without fetching them again).
    pub fn take_blocks(&mut self) -> HeaderBlocks {
        self.order.clear();
        let keep = KEEP_HEADER_BYTES / self.block;
        HeaderBlocks {
            block: self.block,
            blocks: std::mem::take(&mut self.blocks)
                .into_iter()
                .filter(|(b, _)| *b < keep)
                .map(|(b, bytes)| (b * self.block, bytes))
                .collect(),
        }
    }

    /// Makes sure blocks `first..=last` are cached.
    fn fetch(&mut self, first: u64, last: u64) -> std::io::Result<()> {
        let len = self.src.len();
        let missing: Vec<u64> = (first..=last)
            .filter(|b| !self.blocks.contains_key(b))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let ranges: Vec<Range<u64>> = missing
            .iter()
            .map(|&b| b * self.block..((b + 1) * self.block).min(len))
            .collect();
        let got = self
            .src
            .read_ranges(&ranges)
            .map_err(std::io::Error::other)?;
        for (b, bytes) in missing.into_iter().zip(got) {
            self.blocks.insert(b, bytes);
            self.order.push_back(b);
        }
        while self.order.len()
            > MAX_HEADER_BLOCKS.max(usize::try_from(last - first + 1).unwrap_or(usize::MAX))
        {
            if let Some(old) = self.order.pop_front() {
                self.blocks.remove(&old);
            }
        }
        Ok(())
    }
}

impl Read for BlockReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let len = self.src.len();
        if buf.is_empty() || self.pos >= len {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(len - self.pos);
        let first = self.pos / self.block;
        let last = (self.pos + want - 1) / self.block;
        self.fetch(first, last)?;
        let mut done = 0usize;
        while (done as u64) < want {
            let at = self.pos + done as u64;
            let b = at / self.block;
            let Some(bytes) = self.blocks.get(&b) else {
                break; // evicted by a read wider than the cache: return what we have
            };
            let off = (at - b * self.block) as usize;
            let n = (bytes.len().saturating_sub(off)).min(want as usize - done);
            if n == 0 {
                break;
            }
            buf[done..done + n].copy_from_slice(&bytes[off..off + n]);
            done += n;
        }
        self.pos += done as u64;
        Ok(done)
    }
}

impl Seek for BlockReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let len = self.src.len();
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let Some(new) = new else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            ));
        };
        self.pos = new;
        Ok(new)
    }
}

/// The blocks read while opening (the header, and for small files much of the data): a
/// chunk inside them is served from here instead of being fetched again.
#[derive(Default)]
pub(crate) struct HeaderBlocks {
    block: u64,
    /// Start offset → bytes.
    blocks: HashMap<u64, Bytes>,
}

impl HeaderBlocks {
    /// The bytes of `r` when one block holds them all.
    pub fn get(&self, r: &Range<u64>) -> Option<Bytes> {
        let start = r.start / self.block.max(1) * self.block;
        let b = self.blocks.get(&start)?;
        let off = usize::try_from(r.start - start).ok()?;
        let end = usize::try_from(r.end - start).ok()?;
        (end <= b.len()).then(|| b.slice(off..end))
    }

    /// Bytes held.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.blocks.values().map(Bytes::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes in memory, counting the bytes and the calls.
    struct Mem(Vec<u8>, AtomicU64, AtomicU64);

    impl ByteSource for Mem {
        fn name(&self) -> &Path {
            Path::new("mem")
        }
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
            self.2.fetch_add(1, Ordering::Relaxed);
            Ok(ranges
                .iter()
                .map(|r| {
                    self.1.fetch_add(r.end - r.start, Ordering::Relaxed);
                    Bytes::copy_from_slice(&self.0[r.start as usize..r.end as usize])
                })
                .collect())
        }
        fn bytes_fetched(&self) -> u64 {
            self.1.load(Ordering::Relaxed)
        }
        fn header_block_bytes(&self) -> u64 {
            10
        }
    }

    #[test]
    fn block_reader_reads_and_seeks_like_a_file() {
        let data: Vec<u8> = (0..=255).collect();
        let src = Arc::new(Mem(data.clone(), AtomicU64::new(0), AtomicU64::new(0)));
        let mut r = BlockReader::new(src.clone());
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
        r.seek(SeekFrom::Start(95)).unwrap();
        let mut b = [0u8; 30];
        r.read_exact(&mut b).unwrap();
        assert_eq!(&b[..], &data[95..125]);
        r.seek(SeekFrom::End(-3)).unwrap();
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, &data[253..]);
        assert!(r.seek(SeekFrom::Current(-1000)).is_err());
        // Each block fetched once; a read across blocks is one batch.
        assert_eq!(src.bytes_fetched(), 256);
        let blocks = r.take_blocks();
        assert_eq!(blocks.bytes(), 256);
        assert_eq!(&blocks.get(&(21..29)).unwrap()[..], &data[21..29]);
        assert!(blocks.get(&(25..31)).is_none(), "spans two blocks");
    }

    #[test]
    fn a_wide_read_is_one_batch() {
        let data = vec![7u8; 1000];
        let src = Arc::new(Mem(data, AtomicU64::new(0), AtomicU64::new(0)));
        let mut r = BlockReader::new(src.clone());
        let mut b = vec![0u8; 995];
        r.seek(SeekFrom::Start(3)).unwrap();
        r.read_exact(&mut b).unwrap();
        assert_eq!(src.2.load(Ordering::Relaxed), 1);
        assert_eq!(src.bytes_fetched(), 1000);
    }
}
