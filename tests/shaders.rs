//! Every WGSL file in `shaders/` parses and validates with naga (the compiler wgpu uses),
//! without a device; and the shader the crate embeds is the file on disk.

use std::path::PathBuf;

#[test]
fn every_shader_validates() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("shaders/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("wgsl") {
            continue;
        }
        n += 1;
        let src = std::fs::read_to_string(&path).expect("read");
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&src)));
    }
    assert!(n >= 1, "no shaders found in {}", dir.display());
}

#[cfg(feature = "gpu")]
#[test]
fn the_embedded_shader_is_the_file() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("shaders/preprocess.wgsl");
    assert_eq!(
        satdet::preprocess::SHADER,
        std::fs::read_to_string(path).expect("read")
    );
}

/// The WGSL parameter structs have the sizes their `#[repr(C)]` mirrors in
/// `src/preprocess/gpu/pack.rs` are pinned to at compile time (`Params` 112 bytes, `Tile`
/// 48); the unit tests there compare every field offset as well.
#[test]
fn the_parameter_structs_have_the_sizes_the_rust_mirrors_assert() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("shaders/preprocess.wgsl");
    let src = std::fs::read_to_string(path).expect("read");
    let module = naga::front::wgsl::parse_str(&src).expect("parse");
    let size = |name: &str| {
        module
            .types
            .iter()
            .find_map(|(_, t)| match (&t.name, &t.inner) {
                (Some(n), naga::TypeInner::Struct { span, .. }) if n == name => Some(*span),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no struct {name} in preprocess.wgsl"))
    };
    assert_eq!(size("Params"), 112, "Params (uniform)");
    assert_eq!(size("Tile"), 48, "Tile (storage array element)");
}
