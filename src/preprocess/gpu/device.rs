//! The device and queue a preprocessor runs on, however they were obtained (chosen by
//! [`super::adapter`] or injected by the user), and every wait on them: each one bounded by
//! a timeout, so that a hung driver fails a detection instead of hanging it.
//!
//! wgpu's default error handler, which panics, is replaced: validation errors, out of
//! memory and a lost device are recorded here and returned as [`Error::Gpu`].

use super::AdapterSummary;
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a wait for the device may take before it is an error, unless set otherwise
/// ([`super::GpuPreprocessor::set_wait_timeout`]). A batch of 32 inputs of 640x640 takes
/// well under a second on a GPU and a few seconds on lavapipe.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Filled by wgpu's map callback during a wait.
pub(super) type MapStatus = Arc<Mutex<Option<std::result::Result<(), wgpu::BufferAsyncError>>>>;

pub(super) fn gpu_err(what: impl std::fmt::Display) -> Error {
    Error::Gpu(what.to_string())
}

/// A device, its queue, and what went wrong on them.
pub(super) struct Gpu {
    pub adapter: AdapterSummary,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// The largest storage binding and buffer the device allows, in bytes.
    pub max_binding: u64,
    /// The longest any single wait may take.
    pub wait_timeout: Duration,
    /// Set by wgpu's callbacks (a lost device, an uncaptured error) or by a timed-out
    /// wait; once set, every later call fails with it.
    failure: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Takes over `device` and `queue`: installs the handlers that record errors and device
    /// loss (replacing any the caller set) and reads the device's binding limit.
    pub fn new(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let adapter = AdapterSummary::from_info(&device.adapter_info());
        let failure = Arc::new(Mutex::new(None));
        {
            let f = Arc::clone(&failure);
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                let mut g = f.lock().unwrap_or_else(|p| p.into_inner());
                g.get_or_insert_with(|| format!("wgpu error: {e}"));
            }));
            let f = Arc::clone(&failure);
            device.set_device_lost_callback(move |reason, msg| {
                let mut g = f.lock().unwrap_or_else(|p| p.into_inner());
                g.get_or_insert_with(|| format!("the GPU device was lost ({reason:?}): {msg}"));
            });
        }
        let limits = device.limits();
        Gpu {
            adapter,
            device,
            queue,
            max_binding: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
            failure,
        }
    }

    /// The first failure recorded on this device, if any.
    pub fn check_failure(&self) -> Result<()> {
        let g = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        match &*g {
            Some(msg) => Err(gpu_err(format!("{} ({})", msg, self.adapter))),
            None => Ok(()),
        }
    }

    fn record_failure(&self, msg: String) {
        let mut g = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        g.get_or_insert(msg);
    }

    /// Waits at most `wait_timeout` for submission `index` (all submitted work when
    /// `None`); `what` names the wait in the error.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the wait times out (recorded: the device may still be running
    /// work that uses this preprocessor's buffers, so it is not used again), when the device
    /// was lost, or when wgpu reported an error.
    pub fn wait(&self, index: Option<wgpu::SubmissionIndex>, what: &str) -> Result<()> {
        let polled = self.device.poll(wgpu::PollType::Wait {
            submission_index: index,
            timeout: Some(self.wait_timeout),
        });
        if let Err(e) = polled {
            // A lost device or a failed submission explains the failed wait: let wgpu run
            // its callbacks, then prefer their report.
            let _ = self.device.poll(wgpu::PollType::Poll);
            self.check_failure()?;
            if matches!(e, wgpu::PollError::Timeout) {
                self.record_failure(timeout_message(what, self.wait_timeout));
                self.check_failure()?;
            }
            return Err(gpu_err(format!("{what} on {}: {e}", self.adapter)));
        }
        self.check_failure()
    }

    /// Copies `out.len()` values out of `readback` once its mapping (requested with
    /// [`request_map`], waited for by the caller) has completed, and unmaps it.
    pub fn copy_mapped(
        &self,
        readback: &wgpu::Buffer,
        status: &MapStatus,
        out: &mut [f32],
    ) -> Result<()> {
        let mapped = status.lock().unwrap_or_else(|p| p.into_inner()).take();
        match mapped {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                return Err(gpu_err(format!("reading back from {}: {e}", self.adapter)))
            }
            None => {
                return Err(gpu_err(format!(
                    "reading back from {}: the buffer was not mapped after the wait",
                    self.adapter
                )))
            }
        }
        {
            let view = readback
                .slice(0..out.len() as u64 * 4)
                .get_mapped_range()
                .map_err(|e| gpu_err(format!("reading back from {}: {e}", self.adapter)))?;
            out.copy_from_slice(bytemuck::cast_slice(&view));
        }
        readback.unmap();
        Ok(())
    }

    /// Maps `readback` and copies `out.len()` values from it (waits for all work).
    pub fn read_back(&self, readback: &wgpu::Buffer, out: &mut [f32]) -> Result<()> {
        let status = request_map(readback, out.len() as u64 * 4);
        self.wait(None, "waiting for a read-back")?;
        self.copy_mapped(readback, &status, out)
    }
}

/// The message of a wait that took longer than `timeout`.
fn timeout_message(what: &str, timeout: Duration) -> String {
    format!(
        "{what}: the GPU did not finish within {timeout:?} (a hung or overloaded driver?); \
         this preprocessor is not used again. Raise the limit with \
         GpuPreprocessor::set_wait_timeout, or preprocess on the CPU"
    )
}

/// Asks wgpu to map the first `bytes` of `readback` for reading once the work submitted
/// so far is done; the returned status is filled by wgpu's callback during a wait.
pub(super) fn request_map(readback: &wgpu::Buffer, bytes: u64) -> MapStatus {
    let status: MapStatus = Arc::new(Mutex::new(None));
    let s = Arc::clone(&status);
    readback
        .slice(0..bytes)
        .map_async(wgpu::MapMode::Read, move |r| {
            *s.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        });
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_message_names_the_wait_and_the_limit() {
        let m = timeout_message("waiting for a batch", Duration::from_millis(1500));
        assert!(m.starts_with("waiting for a batch: "), "{m}");
        assert!(m.contains("within 1.5s"), "{m}");
        assert!(m.contains("set_wait_timeout"), "{m}");
    }
}
