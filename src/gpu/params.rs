//! Kernel parameter structs: one Rust definition per uniform `struct Params`, with the layout
//! (field names, offsets, types, size) the WGSL side is checked against.
//!
//! A launcher declares its parameters with [`kernel_params!`], naming the shaders that read
//! them; [`super::CommandBatch::dispatch`] refuses a struct not declared for the kernel's shader, and
//! `tests/kernel_params.rs` compares every shader's uniform struct (read by naga) with the
//! layout listed in [`crate::shaders::KERNEL_PARAMS`], so a drift on either side fails CI.

/// One field of a parameter struct as Rust lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamsField {
    /// The field's name (`_pad*` marks padding, not compared by name).
    pub name: &'static str,
    /// Byte offset from the start of the struct.
    pub offset: usize,
    /// The Rust type as written: `u32`, `f32`, `[f32; 4]`, ...
    pub ty: &'static str,
}

/// The layout of one kernel parameter struct and the shaders that bind it at binding 0.
#[derive(Debug, Clone, Copy)]
pub struct ParamsLayout {
    /// The Rust path of the struct (for messages).
    pub rust: &'static str,
    /// File stems under `shaders/` whose uniform struct this is.
    pub shaders: &'static [&'static str],
    /// `size_of` the struct.
    pub size: usize,
    /// Its fields in declaration order.
    pub fields: &'static [ParamsField],
}

/// A `#[repr(C)]` Pod struct a kernel reads as its uniform parameters; implemented by
/// [`kernel_params!`], which records the layout from the definition itself.
pub trait KernelParams: bytemuck::Pod {
    /// The struct's layout and the shaders that read it.
    const LAYOUT: ParamsLayout;
}

/// Define a kernel's `#[repr(C)]` Pod parameter struct and record its layout:
///
/// ```ignore
/// kernel_params! {
///     /// (a, b, c, d) of the tensor whose axes 1 and 2 are swapped.
///     pub(crate) struct Params for ["permute"] { a: u32, b: u32, c: u32, d: u32 }
/// }
/// ```
///
/// Then add `permute::Params::LAYOUT` to [`crate::shaders::KERNEL_PARAMS`].
macro_rules! kernel_params {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident for [$($shader:literal),+ $(,)?] {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
        $vis struct $name {
            $( $(#[$fmeta])* $field: $ty ),*
        }

        impl $crate::gpu::KernelParams for $name {
            const LAYOUT: $crate::gpu::ParamsLayout = $crate::gpu::ParamsLayout {
                rust: concat!(module_path!(), "::", stringify!($name)),
                shaders: &[$($shader),+],
                size: ::core::mem::size_of::<$name>(),
                fields: &[$(
                    $crate::gpu::ParamsField {
                        name: stringify!($field),
                        offset: ::core::mem::offset_of!($name, $field),
                        ty: stringify!($ty),
                    }
                ),*],
            };
        }
    };
}
pub(crate) use kernel_params;

/// Whether a field or WGSL member named `name` is padding (its name is not compared).
pub fn is_padding(name: &str) -> bool {
    name.starts_with("_pad")
}

/// Every difference between the uniform struct(s) of shader `stem` (WGSL `source`) and the
/// Rust layout in `registry` that declares `stem`; empty when they agree. Non-padding
/// members are compared by name, offset and type, in order; the sizes must be equal.
pub fn check_shader(stem: &str, source: &str, registry: &[ParamsLayout]) -> Vec<String> {
    let module = match naga::front::wgsl::parse_str(source) {
        Ok(m) => m,
        Err(e) => return vec![format!("{stem}.wgsl: parse: {}", e.emit_to_string(source))],
    };
    let mut failures = Vec::new();
    let uniforms = module
        .global_variables
        .iter()
        .filter(|(_, g)| g.space == naga::AddressSpace::Uniform);
    for (_, global) in uniforms {
        let at = match &global.binding {
            Some(b) => format!("@group({}) @binding({})", b.group, b.binding),
            None => "without a binding".into(),
        };
        let here = format!("{stem}.wgsl {at}");
        let at_zero = global
            .binding
            .as_ref()
            .is_some_and(|b| (b.group, b.binding) == (0, 0));
        if !at_zero {
            failures.push(format!(
                "{here}: kernel parameters belong at @group(0) @binding(0), where \
                 Batch::dispatch binds them"
            ));
        }
        let naga::TypeInner::Struct { members, span } = &module.types[global.ty].inner else {
            failures.push(format!("{here}: the uniform is not a struct"));
            continue;
        };
        let declared: Vec<&ParamsLayout> = registry
            .iter()
            .filter(|l| l.shaders.contains(&stem))
            .collect();
        let layout = match declared[..] {
            [one] => one,
            [] => {
                failures.push(format!(
                    "{here}: no Rust parameter struct is registered for this shader; define it \
                     with kernel_params! and add it to shaders::KERNEL_PARAMS"
                ));
                continue;
            }
            _ => {
                let names: Vec<&str> = declared.iter().map(|l| l.rust).collect();
                failures.push(format!("{here}: registered by several structs: {names:?}"));
                continue;
            }
        };
        let wgsl: Vec<(String, usize, String)> = members
            .iter()
            .map(|m| {
                let name = m.name.clone().unwrap_or_default();
                (name, m.offset as usize, type_name(&module, m.ty))
            })
            .filter(|(name, _, _)| !is_padding(name))
            .collect();
        let rust: Vec<(String, usize, String)> = layout
            .fields
            .iter()
            .filter(|f| !is_padding(f.name))
            .map(|f| (f.name.to_string(), f.offset, f.ty.replace(' ', "")))
            .collect();
        let show = |fields: &[(String, usize, String)]| {
            let parts: Vec<String> = fields
                .iter()
                .map(|(n, o, t)| format!("{n}: {t} @{o}"))
                .collect();
            parts.join(", ")
        };
        if wgsl != rust {
            failures.push(format!(
                "{here}: members differ from {}:\n  WGSL: {}\n  Rust: {}",
                layout.rust,
                show(&wgsl),
                show(&rust)
            ));
        }
        if *span as usize != layout.size {
            failures.push(format!(
                "{here}: the struct is {span} bytes in WGSL but {} bytes as {}",
                layout.size, layout.rust
            ));
        }
    }
    failures
}

/// A WGSL member type spelled as the Rust field type would be (`u32`, `[f32;4]`).
fn type_name(module: &naga::Module, ty: naga::Handle<naga::Type>) -> String {
    use naga::TypeInner;
    let scalar = |s: naga::Scalar| match (s.kind, s.width) {
        (naga::ScalarKind::Uint, 4) => "u32".to_string(),
        (naga::ScalarKind::Sint, 4) => "i32".to_string(),
        (naga::ScalarKind::Float, 4) => "f32".to_string(),
        (naga::ScalarKind::Float, 2) => "f16".to_string(),
        (kind, width) => format!("{kind:?}{}", width * 8),
    };
    match &module.types[ty].inner {
        TypeInner::Scalar(s) => scalar(*s),
        TypeInner::Vector { size, scalar: s } => format!("[{};{}]", scalar(*s), *size as u8),
        TypeInner::Array {
            base,
            size: naga::ArraySize::Constant(n),
            ..
        } => format!("[{};{n}]", type_name(module, *base)),
        other => format!("{other:?}"),
    }
}
