//! Explicit bind group layouts read from the WGSL (naga): binding 0, the kernel's uniform
//! parameters, gets a dynamic offset, so one bind group serves every slice of the uniform
//! arena and can be cached across dispatches and steps (see [`super::BindGroupCache`]).

use naga::valid::{Capabilities, ValidationFlags, Validator};

/// A parsed and validated shader, for reading its entry points' bindings.
pub(crate) struct Reflection {
    module: naga::Module,
    info: naga::valid::ModuleInfo,
}

impl Reflection {
    /// Parse and validate `source` (None when naga refuses it: the pipeline then uses wgpu's
    /// own layout and reports the error itself).
    pub(crate) fn new(source: &str) -> Option<Self> {
        let module = naga::front::wgsl::parse_str(source).ok()?;
        let info = Validator::new(ValidationFlags::all(), Capabilities::all())
            .validate(&module)
            .ok()?;
        Some(Self { module, info })
    }

    /// The group-0 layout entries `entry` uses: binding 0 a uniform buffer with a dynamic
    /// offset, the others storage buffers with the shader's access. None where the entry point
    /// binds anything else (textures, samplers, other groups, a binding 0 that is not a
    /// uniform): such kernels keep wgpu's derived layout and are not cached.
    pub(crate) fn dynamic_entries(&self, entry: &str) -> Option<Vec<wgpu::BindGroupLayoutEntry>> {
        let index = self
            .module
            .entry_points
            .iter()
            .position(|e| e.name == entry)?;
        let uses = self.info.get_entry_point(index);
        let mut entries = Vec::new();
        for (handle, global) in self.module.global_variables.iter() {
            if uses[handle].is_empty() {
                continue;
            }
            let Some(rb) = &global.binding else {
                continue;
            };
            let ty = match (rb.group, rb.binding, global.space) {
                (0, 0, naga::AddressSpace::Uniform) => wgpu::BufferBindingType::Uniform,
                (0, b, naga::AddressSpace::Storage { access }) if b > 0 => {
                    wgpu::BufferBindingType::Storage {
                        read_only: !access.contains(naga::StorageAccess::STORE),
                    }
                }
                _ => return None,
            };
            entries.push(wgpu::BindGroupLayoutEntry {
                binding: rb.binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty,
                    has_dynamic_offset: rb.binding == 0,
                    min_binding_size: None,
                },
                count: None,
            });
        }
        entries.iter().any(|e| e.binding == 0).then(|| {
            entries.sort_by_key(|e| e.binding);
            entries
        })
    }
}
