//! Kernel parameter structs, one definition checked on both sides: every uniform struct in
//! `shaders/*.wgsl` (read by naga) must match, member by member (name, offset, type) and in
//! size, the Rust struct `kernel_params!` declared for that shader and
//! `shaders::KERNEL_PARAMS` lists. Padding (`_pad*`) is compared by offset and size only.

use locomotion::gpu::{
    CommandBatch, Gpu, GpuError, Groups, Kernel, KernelParams, ParamsLayout, check_shader,
};
use locomotion::shaders::{KERNEL_PARAMS, SHADERS, source};

#[test]
fn every_shader_uniform_matches_its_rust_struct() {
    let mut failures = Vec::new();
    for (stem, src) in SHADERS {
        failures.extend(check_shader(stem, src, KERNEL_PARAMS));
    }
    assert!(
        failures.is_empty(),
        "drifted parameters:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_registered_struct_names_shaders_that_exist() {
    for layout in KERNEL_PARAMS {
        for stem in layout.shaders {
            let src = source(stem).unwrap_or_else(|| {
                panic!("{} names {stem}.wgsl, which does not exist", layout.rust)
            });
            assert!(
                src.contains("var<uniform>"),
                "{} names {stem}.wgsl, which has no uniform",
                layout.rust
            );
        }
    }
}

/// attention.wgsl as it was before the check: `stage` and `keys` called `_pad`, `_pad1`.
#[test]
fn a_renamed_member_fails_and_names_both_sides() {
    let src = source("attention").unwrap();
    let drifted = src.replacen("stage: u32", "_pad: u32", 1);
    assert!(
        drifted != src,
        "attention.wgsl has no `stage` member to rename"
    );
    let failures = check_shader("attention", &drifted, KERNEL_PARAMS);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].starts_with("attention.wgsl @group(0) @binding(0): members differ"));
    assert!(failures[0].contains("stage: u32 @28"), "{}", failures[0]);
}

/// attention_unfused.wgsl as it was: 8 members (32 bytes) where Rust has 12 (48 bytes).
#[test]
fn a_shorter_struct_fails_on_members_and_size() {
    let src = "struct Params { b: u32, h: u32, tq: u32, tk: u32, d: u32, has_mask: u32, \
               scale: f32, stage: u32 }\n\
               @group(0) @binding(0) var<uniform> p: Params;\n\
               @compute @workgroup_size(1) fn main() { _ = p.b; }";
    let failures = check_shader("attention_unfused", src, KERNEL_PARAMS);
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[1].contains("32 bytes in WGSL but 48 bytes"),
        "{}",
        failures[1]
    );
}

#[test]
fn a_changed_type_or_offset_fails() {
    let src = source("softmax").unwrap();
    let as_float = src.replacen("log: u32", "log: f32", 1);
    assert!(as_float != src, "softmax.wgsl has no `log: u32` member");
    let failures = check_shader("softmax", &as_float, KERNEL_PARAMS);
    assert!(
        failures.len() == 1 && failures[0].contains("log: f32 @8"),
        "{failures:?}"
    );

    let moved = src.replacen("rows: u32,", "rows: u32,\n    _pad0: u32,", 1);
    let failures = check_shader("softmax", &moved, KERNEL_PARAMS);
    assert!(
        failures.iter().any(|f| f.contains("c: u32 @8")),
        "{failures:?}"
    );
}

#[test]
fn a_shader_without_a_registered_struct_fails() {
    let src = "struct Params { n: u32 }\n\
               @group(0) @binding(0) var<uniform> p: Params;\n\
               @compute @workgroup_size(1) fn main() { _ = p.n; }";
    let failures = check_shader("new_kernel", src, KERNEL_PARAMS);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("no Rust parameter struct is registered"),
        "{}",
        failures[0]
    );
}

/// Parameters declared for `permute` only.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PermuteOnly {
    a: [u32; 4],
}

impl KernelParams for PermuteOnly {
    const LAYOUT: ParamsLayout = ParamsLayout {
        rust: "PermuteOnly",
        shaders: &["permute"],
        size: 16,
        fields: &[],
    };
}

#[test]
fn a_dispatch_with_another_shaders_parameters_is_refused() {
    let gpu = Gpu::shared().expect("a GPU adapter (mesa-vulkan-drivers for the CPU fallback)");
    // x is (1, 2, 3, 1): swapping axes 1 and 2 gives (1, 3, 2, 1).
    let x = gpu.upload(&[0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0], "x").unwrap();
    let y = gpu.upload(&[-1.0f32; 6], "y").unwrap();
    let params = PermuteOnly { a: [1, 2, 3, 1] };
    let mut batch = CommandBatch::new(&gpu);
    let softmax = Kernel::new("softmax", "forward");
    let err = batch
        .dispatch(softmax, &params, &[&x, &y], Groups::Linear(1))
        .unwrap_err();
    assert!(matches!(err, GpuError::Launch { .. }), "{err}");
    assert!(
        err.to_string().contains("PermuteOnly is not declared"),
        "{err}"
    );
    let permute = Kernel::new("permute", "swap12");
    batch
        .dispatch(permute, &params, &[&x, &y], Groups::Linear(1))
        .unwrap();
    batch.submit();
    assert_eq!(gpu.read::<f32>(&y).unwrap(), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
}

#[test]
fn parameters_elsewhere_than_binding_zero_fail() {
    let src = source("permute").unwrap();
    let moved = src.replacen("@binding(0) var<uniform>", "@binding(7) var<uniform>", 1);
    assert!(moved != src, "permute.wgsl has no uniform at binding 0");
    let failures = check_shader("permute", &moved, KERNEL_PARAMS);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("belong at @group(0) @binding(0)"),
        "{}",
        failures[0]
    );
}
