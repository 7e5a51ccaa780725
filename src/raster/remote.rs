//! Scenes in object storage: a [`ByteSource`] over `object_store` (S3, GCS, Azure, plain
//! HTTP), reading byte ranges with range requests.
//!
//! - The store is picked by the URL's scheme; credentials and settings come from the
//!   usual environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`, through each
//!   builder's `from_env`).
//! - The ranges of one batch (the chunks a window needs) are fetched together, at most
//!   [`MAX_IN_FLIGHT`] requests at a time; ranges closer than [`COALESCE_GAP_BYTES`]
//!   share one request.
//! - Transient faults are retried with exponential backoff: `object_store`'s
//!   [`RetryConfig`] retries 5xx/429 answers and failed connections; a connection
//!   dropped mid-answer is retried here, [`MAX_TRIES`] times at most. A 404, 401 or 403
//!   fails at once.
//! - The async client runs on a private current-thread tokio runtime owned by the
//!   source; every call blocks the caller's thread, so the crate's API stays synchronous.

use super::bytes::ByteSource;
use crate::error::{bounded, Error, Result};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::http::HttpBuilder;
use object_store::path::Path as StorePath;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, ObjectStoreExt, RetryConfig};
use std::future::Future;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Most range requests of one batch in flight at once.
pub(crate) const MAX_IN_FLIGHT: usize = 8;
/// Ranges this close (GDAL's 4-byte chunk leaders and trailers, a few unused bytes) are
/// fetched in one request: a little more data, far fewer requests.
pub(crate) const COALESCE_GAP_BYTES: u64 = 1024;
/// Tries of one range request for a fault that `object_store` does not retry itself
/// (a connection closed in the middle of an answer); each try has its own retries.
pub(crate) const MAX_TRIES: u32 = 3;
/// Blocks the header is read in: one request each. A COG keeps its directories in the
/// first 16 KiB (GDAL reads the same amount first).
const HEADER_BLOCK_BYTES: u64 = 16 << 10;
/// Characters of an object-store error quoted in ours (it may quote a server's body).
const MESSAGE_CHARS: usize = 400;

/// The URL schemes read through `object_store`.
const SCHEMES: &[&str] = &[
    "http", "https", "s3", "s3a", "gs", "az", "azure", "abfs", "abfss",
];

/// The URL when `path` is one (`scheme://…`, a scheme of two letters or more, so that a
/// Windows drive is never taken for one).
pub(crate) fn as_url(path: &Path) -> Option<&str> {
    let s = path.to_str()?;
    let (scheme, _) = s.split_once("://")?;
    let ok = scheme.len() >= 2
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(s)
}

/// Which store a URL is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreKind {
    Http,
    S3,
    Gcs,
    Azure,
}

/// The store for a URL's scheme.
pub(crate) fn store_kind(url: &str) -> Result<StoreKind> {
    let scheme = url
        .split_once("://")
        .map_or("", |(s, _)| s)
        .to_ascii_lowercase();
    Ok(match scheme.as_str() {
        "http" | "https" => StoreKind::Http,
        "s3" | "s3a" => StoreKind::S3,
        "gs" => StoreKind::Gcs,
        "az" | "azure" | "abfs" | "abfss" => StoreKind::Azure,
        _ => {
            return Err(remote(
                url,
                format!(
                    "unsupported URL scheme `{scheme}`: satdet reads {}",
                    SCHEMES.join(", ")
                ),
                None,
            ))
        }
    })
}

fn remote(url: &str, detail: String, source: Option<object_store::Error>) -> Error {
    Error::Remote {
        url: url.to_owned(),
        detail,
        source: source.map(|e| Box::new(e) as _),
    }
}

/// Our error for an object-store error, saying what was being done and, for a request,
/// how many tries it took (`tries` 0: no request was made).
fn store_error(url: &str, what: &str, tries: u32, e: object_store::Error) -> Error {
    use object_store::Error as E;
    let why = match &e {
        E::NotFound { .. } => "not found (HTTP 404)".to_owned(),
        E::PermissionDenied { .. } => "access denied (HTTP 403): check the credentials".into(),
        E::Unauthenticated { .. } => {
            "not authenticated (HTTP 401): check the credentials (AWS_*, GOOGLE_*, AZURE_* variables)".into()
        }
        _ if tries == 0 => bounded(&e.to_string(), MESSAGE_CHARS),
        _ => format!(
            "{} (after {tries} {}, each with object_store's own retries)",
            bounded(&e.to_string(), MESSAGE_CHARS),
            if tries == 1 { "try" } else { "tries" }
        ),
    };
    let detail = format!("{what}: {why}");
    remote(url, detail, Some(e))
}

/// Whether retrying may help: yes for a transport fault (a connection lost
/// mid-answer), not for an answer the server gave (a status: 4xx on purpose, 5xx
/// already retried by `object_store`) nor a request satdet made wrong.
fn worth_retrying(e: &object_store::Error) -> bool {
    use object_store::Error as E;
    let E::Generic { source, .. } = e else {
        return false;
    };
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
    while let Some(err) = cur {
        if err.is::<object_store::client::HttpError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Where a store's settings come from, for messages.
fn configuring(kind: StoreKind) -> String {
    let vars = match kind {
        StoreKind::Http => return "configuring the HTTP client".into(),
        StoreKind::S3 => "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT, …",
        StoreKind::Gcs => "GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_SERVICE_ACCOUNT, …",
        StoreKind::Azure => "AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCESS_KEY, …",
    };
    format!("credentials and settings from the environment: {vars}")
}

/// A scene object in a store, read by byte ranges.
pub(crate) struct RemoteBytes {
    url: String,
    name: PathBuf,
    store: Arc<dyn ObjectStore>,
    location: StorePath,
    len: u64,
    fetched: AtomicU64,
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for RemoteBytes {
    /// Shut down without blocking: a scene may be dropped inside a tokio task, where
    /// dropping a runtime the usual way panics.
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl RemoteBytes {
    /// Configures the store for `url` and asks for the object's size (one HEAD request).
    pub fn open(url: &str) -> Result<RemoteBytes> {
        let parsed =
            url::Url::parse(url).map_err(|e| remote(url, format!("not a valid URL: {e}"), None))?;
        let kind = store_kind(url)?;
        let location = StorePath::from_url_path(parsed.path())
            .map_err(|e| remote(url, format!("not a valid object path: {e}"), None))?;
        if location.as_ref().is_empty() {
            return Err(remote(url, "the URL names no object".into(), None));
        }
        let store = build_store(url, &parsed, kind)
            .map_err(|e| store_error(url, &configuring(kind), 0, e))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Remote {
                url: url.to_owned(),
                detail: format!("cannot start the I/O runtime: {e}"),
                source: Some(Box::new(e)),
            })?;
        let mut src = RemoteBytes {
            url: url.to_owned(),
            name: PathBuf::from(url),
            store,
            location,
            len: 0,
            fetched: AtomicU64::new(0),
            runtime: Some(runtime),
        };
        let meta = src
            .block_on(async { src.store.head(&src.location).await })?
            .map_err(|e| {
                let what = match kind {
                    StoreKind::Http => "reading the object's size".to_owned(),
                    _ => format!("reading the object's size ({})", configuring(kind)),
                };
                store_error(url, &what, 1, e)
            })?;
        src.len = meta.size;
        Ok(src)
    }

    /// Runs `fut` on the private runtime from the caller's thread; from inside another
    /// tokio runtime (where blocking on one is not allowed), on a helper thread.
    fn block_on<F: Future + Send>(&self, fut: F) -> Result<F::Output>
    where
        F::Output: Send,
    {
        let Some(rt) = self.runtime.as_ref() else {
            return Err(Error::Internal("the I/O runtime is gone".into()));
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(rt.block_on(fut));
        }
        Ok(std::thread::scope(|s| {
            s.spawn(|| rt.block_on(fut))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        }))
    }

    /// One range with retries of what `object_store` leaves unretried.
    async fn get(&self, r: Range<u64>) -> Result<Bytes> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.store.get_range(&self.location, r.clone()).await {
                Ok(b) => {
                    self.fetched.fetch_add(b.len() as u64, Ordering::Relaxed);
                    return Ok(b);
                }
                Err(e) if tries < MAX_TRIES && worth_retrying(&e) => {
                    log::info!("{}: bytes {r:?}: {e}; trying again", self.url);
                    tokio::time::sleep(Duration::from_millis(200 << tries)).await;
                }
                Err(e) => {
                    let what = format!("reading bytes {}..{}", r.start, r.end);
                    return Err(store_error(&self.url, &what, tries, e));
                }
            }
        }
    }
}

/// Ranges merged where they overlap or lie within [`COALESCE_GAP_BYTES`] of each
/// other: the requests to make, in order of offset.
fn coalesce(ranges: &[Range<u64>]) -> Vec<Range<u64>> {
    let mut sorted: Vec<Range<u64>> = ranges.iter().filter(|r| r.end > r.start).cloned().collect();
    sorted.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(COALESCE_GAP_BYTES) => {
                last.end = last.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    out
}

impl ByteSource for RemoteBytes {
    fn name(&self) -> &Path {
        &self.name
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let requests = coalesce(ranges);
        let fetched: Vec<Bytes> = self.block_on(
            stream::iter(requests.iter().cloned())
                .map(|r| self.get(r))
                .buffered(MAX_IN_FLIGHT)
                .try_collect(),
        )??;
        ranges
            .iter()
            .map(|r| {
                if r.end <= r.start {
                    return Ok(Bytes::new());
                }
                // The request holding r: the last one starting at or before it.
                let i = requests
                    .partition_point(|q| q.start <= r.start)
                    .saturating_sub(1);
                let (q, b) = (&requests[i], &fetched[i]);
                let (off, end) = ((r.start - q.start) as usize, (r.end - q.start) as usize);
                if end > b.len() {
                    return Err(remote(
                        &self.url,
                        format!(
                            "bytes {}..{}: the server sent {} bytes for {}..{}",
                            r.start,
                            r.end,
                            b.len(),
                            q.start,
                            q.end
                        ),
                        None,
                    ));
                }
                Ok(b.slice(off..end))
            })
            .collect()
    }
    fn bytes_fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }
    fn header_block_bytes(&self) -> u64 {
        HEADER_BLOCK_BYTES
    }
}

/// Backoff of `object_store`'s own retries: 100 ms doubling to 5 s, 5 retries, 60 s at
/// most for one request.
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: 5,
        retry_timeout: Duration::from_secs(60),
    }
}

/// Client defaults where the environment sets none: a connection must open within 10 s
/// and a request finish within 120 s, so an unreachable store fails instead of hanging.
const CLIENT_DEFAULTS: &[(ClientConfigKey, &str)] = &[
    (ClientConfigKey::ConnectTimeout, "10s"),
    (ClientConfigKey::Timeout, "120s"),
];

fn build_store(
    url: &str,
    parsed: &url::Url,
    kind: StoreKind,
) -> object_store::Result<Arc<dyn ObjectStore>> {
    Ok(match kind {
        StoreKind::Http => {
            let origin = parsed.origin().ascii_serialization();
            let mut b = HttpBuilder::new()
                .with_url(origin)
                .with_retry(retry_config())
                .with_config(ClientConfigKey::AllowHttp, "true");
            for (k, v) in CLIENT_DEFAULTS {
                b = b.with_config(*k, *v);
            }
            Arc::new(b.build()?)
        }
        StoreKind::S3 => {
            let mut b = AmazonS3Builder::from_env()
                .with_url(url)
                .with_retry(retry_config());
            for (k, v) in CLIENT_DEFAULTS {
                let key = AmazonS3ConfigKey::Client(*k);
                if b.get_config_value(&key).is_none() {
                    b = b.with_config(key, *v);
                }
            }
            Arc::new(b.build()?)
        }
        StoreKind::Gcs => {
            let mut b = GoogleCloudStorageBuilder::from_env()
                .with_url(url)
                .with_retry(retry_config());
            for (k, v) in CLIENT_DEFAULTS {
                let key = GoogleConfigKey::Client(*k);
                if b.get_config_value(&key).is_none() {
                    b = b.with_config(key, *v);
                }
            }
            Arc::new(b.build()?)
        }
        StoreKind::Azure => {
            let mut b = MicrosoftAzureBuilder::from_env()
                .with_url(url)
                .with_retry(retry_config());
            for (k, v) in CLIENT_DEFAULTS {
                let key = AzureConfigKey::Client(*k);
                if b.get_config_value(&key).is_none() {
                    b = b.with_config(key, *v);
                }
            }
            Arc::new(b.build()?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths_and_pick_their_store() {
        assert_eq!(as_url(Path::new("scene.tif")), None);
        assert_eq!(as_url(Path::new("/data/s3:/x.tif")), None);
        assert_eq!(as_url(Path::new("C://x.tif")), None);
        for (u, k) in [
            ("https://example.com/a/b.tif", StoreKind::Http),
            ("http://127.0.0.1:8080/b.tif", StoreKind::Http),
            ("s3://bucket/key.tif", StoreKind::S3),
            ("gs://bucket/key.tif", StoreKind::Gcs),
            ("az://container/key.tif", StoreKind::Azure),
            (
                "abfss://c@acct.dfs.core.windows.net/k.tif",
                StoreKind::Azure,
            ),
        ] {
            assert_eq!(as_url(Path::new(u)), Some(u));
            assert_eq!(store_kind(u).unwrap(), k, "{u}");
        }
        let e = store_kind("ftp://host/x.tif").unwrap_err();
        assert!(
            matches!(e, Error::Remote { .. }) && e.to_string().contains("ftp"),
            "{e}"
        );
    }

    #[test]
    fn close_ranges_share_a_request() {
        let r = coalesce(&[2000..3000, 0..100, 100..200, 5000..6000, 3500..3600, 7..7]);
        assert_eq!(r, vec![0..200, 2000..3600, 5000..6000]);
    }
}
