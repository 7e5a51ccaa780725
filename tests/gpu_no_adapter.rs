//! `Preprocess::Gpu` on a machine without any adapter is a clear error, and `Auto` falls
//! back to the CPU saying why. "No adapter" is made by restricting wgpu to a backend this
//! platform does not have (`WGPU_BACKEND`, read by satdet); this file is its own test
//! process, so the variable touches no other test.
#![cfg(all(feature = "gpu", target_os = "linux"))]

mod common;

use satdet::{Detector, Error, Preprocess};

#[test]
fn gpu_without_an_adapter_is_an_error_and_auto_falls_back() {
    // Metal exists only on Apple platforms.
    std::env::set_var("WGPU_BACKEND", "metal");
    assert!(satdet::preprocess::adapters().is_empty());
    let e = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .preprocess(Preprocess::Gpu)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Gpu(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("no GPU adapter found") && msg.contains("mesa-vulkan-drivers"),
        "{msg}"
    );
    let det = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .preprocess(Preprocess::Auto)
        .build()
        .expect("auto always builds");
    assert!(
        det.preprocess_backend()
            .starts_with("cpu (auto: no GPU adapter found"),
        "{}",
        det.preprocess_backend()
    );
}
