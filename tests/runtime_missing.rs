//! A missing onnxruntime is an error that says where satdet looked and how to install it.
//! (Its own test binary: onnxruntime is loaded once per process.)

mod common;

use satdet::{Detector, Error};

#[test]
fn explicit_missing_runtime_lists_where_it_looked() {
    let e = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .onnxruntime("/nonexistent/lib/libonnxruntime.so")
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::RuntimeMissing { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("/nonexistent/lib/libonnxruntime.so"), "{msg}");
    assert!(msg.contains("pip install onnxruntime"), "{msg}");
}
