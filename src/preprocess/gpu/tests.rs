//! The GPU preprocessor's internals on a real device (lavapipe in CI): queued batches,
//! shader and device failures, batches split to fit the binding limit, wait timeouts.

use super::*;
use crate::preprocess::{CpuPreprocessor, Scaling};
use crate::raster::{BandLayout, MaskSpec, Samples, Window};

fn spec() -> InputSpec {
    InputSpec {
        width: 24,
        height: 16,
        channels: [0, 1, 2],
        scaling: Scaling::u8(),
        mean: [0.0; 3],
        inv_std: [1.0; 3],
        pad: 114.0 / 255.0,
        mask: MaskSpec {
            alpha_band: None,
            nodata: None,
        },
    }
}

fn tiles(n: usize) -> Vec<TileBuf> {
    (0..n)
        .map(|k| {
            let s: Vec<u8> = (0..20 * 13 * 3)
                .map(|i| ((i * 31 + k * 7) % 256) as u8)
                .collect();
            TileBuf::from_samples(
                Window::new(0, 0, 20, 13),
                3,
                BandLayout::Interleaved,
                Samples::U8(s),
            )
            .expect("tile")
        })
        .collect()
}

#[test]
fn queued_batches_come_back_in_order_and_equal_the_cpu() {
    let mut g = GpuPreprocessor::new(AdapterPolicy::Any).expect("adapter (lavapipe in CI)");
    let sp = spec();
    let t = tiles(5);
    let (a, b, c) = (vec![&t[0], &t[1]], vec![&t[2]], vec![&t[3], &t[4]]);
    let cpu = |ts: &[&TileBuf]| {
        let mut o = vec![0.0; ts.len() * sp.input_len()];
        CpuPreprocessor::new()
            .run(&sp, ts, 1.0, &mut o)
            .expect("cpu");
        o
    };
    let out = |n: usize| vec![f32::NAN; n * sp.input_len()];
    // a and b in flight together; then c queued behind b.
    g.begin(&sp, &a, 1.0).expect("begin a");
    g.begin(&sp, &b, 1.0).expect("begin b");
    assert!(
        g.begin(&sp, &c, 1.0).is_err(),
        "a third queued batch is refused"
    );
    let (mut oa, mut ob, mut oc) = (out(2), out(1), out(2));
    g.end(&mut oa).expect("end a");
    g.begin(&sp, &c, 1.0).expect("begin c");
    g.end(&mut ob).expect("end b");
    g.end(&mut oc).expect("end c");
    assert_eq!(oa, cpu(&a));
    assert_eq!(ob, cpu(&b));
    assert_eq!(oc, cpu(&c));
    assert!(g.end(&mut oc).is_err(), "nothing queued");
    // A queued batch left behind is dropped by cancel, and run works again.
    g.begin(&sp, &a, 1.0).expect("begin");
    assert!(
        g.run(&sp, &b, 1.0, &mut ob).is_err(),
        "run while a batch is queued"
    );
    g.cancel();
    g.run(&sp, &b, 1.0, &mut ob).expect("run after cancel");
    assert_eq!(ob, cpu(&b));
}

#[test]
fn a_shader_that_does_not_validate_is_a_gpu_error() {
    let bad = SHADER.replace("fn main(", "fn main(oops: f32, ");
    match GpuPreprocessor::with_shader(AdapterPolicy::Any, &bad) {
        Err(Error::Gpu(m)) => assert!(m.contains("does not compile"), "{m}"),
        other => panic!("expected a GPU error, got {other:?}"),
    }
}

#[test]
fn a_lost_device_is_a_gpu_error_not_a_panic() {
    let mut g = GpuPreprocessor::new(AdapterPolicy::Any).expect("adapter (lavapipe in CI)");
    let t = tiles(1);
    let mut out = vec![0.0; spec().input_len()];
    g.run(&spec(), &[&t[0]], 1.0, &mut out)
        .expect("first batch");
    g.destroy_device();
    match g.run(&spec(), &[&t[0]], 1.0, &mut out) {
        Err(Error::Gpu(m)) => assert!(m.contains("lost") || m.contains("wgpu"), "{m}"),
        other => panic!("expected a GPU error, got {other:?}"),
    }
}

#[test]
fn a_batch_over_the_binding_limit_is_split_into_dispatches() {
    let mut g = GpuPreprocessor::new(AdapterPolicy::Any).expect("adapter (lavapipe in CI)");
    let sp = spec();
    // Room for two inputs per dispatch: seven tiles take four dispatches.
    g.gpu.max_binding = 2 * sp.input_len() as u64 * 4;
    assert_eq!(
        g.chunks(&sp, &tiles(7).iter().collect::<Vec<_>>())
            .expect("chunks")
            .len(),
        4
    );
    let t = tiles(7);
    let refs: Vec<&TileBuf> = t.iter().collect();
    let mut a = vec![0.0; 7 * sp.input_len()];
    let mut b = vec![1.0; 7 * sp.input_len()];
    CpuPreprocessor::new()
        .run(&sp, &refs, 1.0, &mut a)
        .expect("cpu");
    g.run(&sp, &refs, 1.0, &mut b).expect("gpu");
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    // The staged run (benchmarks) gives the same tensor.
    let mut c = vec![2.0; 7 * sp.input_len()];
    bench::run_staged(&mut g, &sp, &refs, 1.0, &mut c).expect("staged");
    assert_eq!(b, c);
}

#[test]
fn a_wait_past_the_timeout_is_a_gpu_error_and_the_preprocessor_is_retired() {
    let mut g = GpuPreprocessor::new(AdapterPolicy::Any).expect("adapter (lavapipe in CI)");
    assert_eq!(g.wait_timeout(), DEFAULT_WAIT_TIMEOUT);
    // Enough work (eight 640x640 inputs, resampled) that no device finishes it in the
    // zero time allowed between submit and wait.
    let mut sp = spec();
    (sp.width, sp.height) = (640, 640);
    let t = tiles(8);
    let refs: Vec<&TileBuf> = t.iter().collect();
    let mut out = vec![0.0; 8 * sp.input_len()];
    g.set_wait_timeout(Duration::ZERO);
    match g.run(&sp, &refs, 30.0, &mut out) {
        Err(Error::Gpu(m)) => assert!(
            m.contains("waiting for a batch") && m.contains("within 0ns"),
            "{m}"
        ),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The device may still be using the buffers: the preprocessor is not used again.
    g.set_wait_timeout(DEFAULT_WAIT_TIMEOUT);
    match g.run(&sp, &refs, 30.0, &mut out) {
        Err(Error::Gpu(m)) => assert!(m.contains("within 0ns"), "{m}"),
        other => panic!("expected the recorded timeout, got {other:?}"),
    }
    g.cancel();
}
