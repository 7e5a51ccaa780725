//! Choosing an adapter and opening a device on it: which backends are searched, how
//! adapters are ranked, and what a policy allows. Nothing here runs GPU work; a caller that
//! brings its own device skips this module entirely
//! ([`super::GpuPreprocessor::from_device`]).

use crate::error::{Error, Result};

/// The adapter a [`super::GpuPreprocessor`] runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The adapter's name, e.g. `NVIDIA H200` or `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// The graphics API, e.g. `Vulkan`.
    pub backend: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `VirtualGpu`, `Cpu` (a software rasteriser such as
    /// lavapipe) or `Other`.
    pub device_type: String,
    /// Driver name and version, when the driver reports them.
    pub driver: String,
}

impl AdapterSummary {
    pub(super) fn from_info(i: &wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            name: i.name.clone(),
            backend: format!("{:?}", i.backend),
            device_type: format!("{:?}", i.device_type),
            driver: format!("{} {}", i.driver, i.driver_info).trim().to_string(),
        }
    }

    /// Whether this is real GPU hardware (not a software rasteriser).
    pub fn is_hardware(&self) -> bool {
        matches!(
            self.device_type.as_str(),
            "DiscreteGpu" | "IntegratedGpu" | "VirtualGpu"
        )
    }
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}, {}", self.name, self.backend, self.device_type)
    }
}

/// Which adapters a preprocessor may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterPolicy {
    /// Real GPU hardware only (what `Preprocess::Auto` uses).
    HardwareOnly,
    /// Hardware first, else a software adapter such as lavapipe (what `Preprocess::Gpu`
    /// uses).
    Any,
}

/// The backends searched: `WGPU_BACKEND` when set (e.g. `vulkan`), else Vulkan, Metal and
/// DX12 (not GL: a compute-only library has no use for it).
fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends();
    wgpu::Instance::new(desc)
}

fn backends() -> wgpu::Backends {
    wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY)
}

/// Every adapter wgpu can see, hardware first (discrete, integrated, virtual, then software).
pub fn adapters() -> Vec<AdapterSummary> {
    sorted_adapters()
        .iter()
        .map(|a| AdapterSummary::from_info(&a.get_info()))
        .collect()
}

/// The adapters of the searched backends, best first.
fn sorted_adapters() -> Vec<wgpu::Adapter> {
    let mut v = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    v.sort_by_key(|a| rank(&a.get_info()));
    v
}

fn rank(i: &wgpu::AdapterInfo) -> u8 {
    match i.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// The best adapter `policy` allows.
///
/// # Errors
/// [`Error::Gpu`] when none qualifies: the message lists the adapters seen, or, when there
/// are none, the backends searched and how to install a driver.
pub(super) fn pick(policy: AdapterPolicy) -> Result<wgpu::Adapter> {
    let all = sorted_adapters();
    let seen: Vec<String> = all
        .iter()
        .map(|a| AdapterSummary::from_info(&a.get_info()).to_string())
        .collect();
    let pick = all.into_iter().find(|a| {
        policy == AdapterPolicy::Any || AdapterSummary::from_info(&a.get_info()).is_hardware()
    });
    pick.ok_or_else(|| {
        Error::Gpu(if seen.is_empty() {
            format!(
                "no GPU adapter found (wgpu searched {:?}{}). Install a GPU driver with \
                 Vulkan support, or for a software adapter on Debian/Ubuntu: apt-get \
                 install mesa-vulkan-drivers libvulkan1",
                backends(),
                if std::env::var_os("WGPU_BACKEND").is_some() {
                    ", as WGPU_BACKEND asks"
                } else {
                    ""
                }
            )
        } else {
            format!(
                "no hardware GPU adapter; wgpu saw only: {}",
                seen.join("; ")
            )
        })
    })
}

/// Opens a device and its queue on `adapter`, asking for the largest buffers it offers: a
/// batch of 32 inputs of 640x640 is 157 MB of f32, over wgpu's 128 MiB default binding
/// limit.
///
/// # Errors
/// [`Error::Gpu`] when the adapter refuses the device.
pub(super) fn open(adapter: &wgpu::Adapter) -> Result<(wgpu::Device, wgpu::Queue)> {
    let alimits = adapter.limits();
    let required_limits = wgpu::Limits {
        max_storage_buffer_binding_size: alimits.max_storage_buffer_binding_size,
        max_buffer_size: alimits.max_buffer_size,
        ..wgpu::Limits::downlevel_defaults()
    };
    pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("satdet preprocess"),
        required_limits,
        ..Default::default()
    }))
    .map_err(|e| {
        Error::Gpu(format!(
            "cannot open a device on {}: {e}",
            AdapterSummary::from_info(&adapter.get_info())
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(device_type: wgpu::DeviceType) -> wgpu::AdapterInfo {
        wgpu::AdapterInfo {
            driver: "drv".into(),
            driver_info: "1.0".into(),
            ..wgpu::AdapterInfo::new(device_type, wgpu::Backend::Vulkan)
        }
    }

    #[test]
    fn hardware_ranks_before_software() {
        use wgpu::DeviceType as D;
        let order = [
            D::DiscreteGpu,
            D::IntegratedGpu,
            D::VirtualGpu,
            D::Cpu,
            D::Other,
        ];
        let ranks: Vec<u8> = order.iter().map(|&d| rank(&info(d))).collect();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");
        assert!(AdapterSummary::from_info(&info(D::VirtualGpu)).is_hardware());
        assert!(!AdapterSummary::from_info(&info(D::Cpu)).is_hardware());
        assert_eq!(AdapterSummary::from_info(&info(D::Cpu)).driver, "drv 1.0");
    }
}
