//! Pipeline cache: each shader module and each (shader, entry point) pipeline is compiled once
//! per process and shared. Kernels whose bindings are all buffers get an explicit layout with
//! a dynamic offset for their parameters (see `layout.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::GpuError;
use super::disk_cache::DiskCache;
use super::layout::Reflection;

/// Most pipeline-overridable constants one kernel sets.
const MAX_OVERRIDES: usize = 4;

/// A compute kernel: an entry point of one embedded shader file, with the values of its
/// WGSL `override` constants (each set of values is its own pipeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kernel {
    /// Shader file stem under `shaders/` (e.g. "elementwise").
    pub shader: &'static str,
    /// Entry point in that file.
    pub entry: &'static str,
    /// Compile the shader without the runtime bounds checks wgpu inserts (they cost a lot on
    /// CPU drivers). Only for kernels that guard every access themselves.
    pub unchecked: bool,
    /// `override` constants by name (unused slots have an empty name).
    pub overrides: [(&'static str, u32); MAX_OVERRIDES],
}

impl Kernel {
    /// A kernel from its shader file stem and entry point.
    pub const fn new(shader: &'static str, entry: &'static str) -> Self {
        Self {
            shader,
            entry,
            unchecked: false,
            overrides: [("", 0); MAX_OVERRIDES],
        }
    }

    /// The same kernel with the WGSL `override` constant `name` set to `value` (a
    /// specialisation: loops bounded by it unroll, arrays sized by it shrink).
    pub fn with(mut self, name: &'static str, value: u32) -> Self {
        match self
            .overrides
            .iter_mut()
            .find(|(n, _)| n.is_empty() || *n == name)
        {
            Some(slot) => *slot = (name, value),
            None => panic!(
                "{}::{}: more than {MAX_OVERRIDES} overrides",
                self.shader, self.entry
            ),
        }
        self
    }

    /// `shader::entry` and its override constants, `attention::forward[TPW=8,DV=8,R=4]`: how
    /// step traces and profiles name the kernel that ran.
    pub fn trace_name(&self) -> String {
        let set: Vec<String> = self
            .overrides
            .iter()
            .filter(|(n, _)| !n.is_empty())
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let name = format!("{}::{}", self.shader, self.entry);
        if set.is_empty() {
            name
        } else {
            format!("{name}[{}]", set.join(","))
        }
    }

    /// The same kernel compiled without runtime bounds checks: the kernel's own guards must
    /// keep every access in range.
    pub const fn unchecked(self) -> Self {
        Self {
            unchecked: true,
            ..self
        }
    }
}

/// The WGSL of shader `name`: the embedded copy, or with `LOCOMOTION_SHADER_DIR` set (kernel
/// development: edit and rerun without rebuilding) the file `name.wgsl` in that folder, or in
/// its `dev/` (where the repository keeps the comparison kernels), its imports read from that
/// folder's `common/`.
fn shader_source(name: &str) -> Result<&'static str, String> {
    let Some(dir) = std::env::var_os("LOCOMOTION_SHADER_DIR") else {
        return crate::shaders::source(name).ok_or_else(|| "no such shader is embedded".into());
    };
    let dir = std::path::Path::new(&dir);
    let file = format!("{name}.wgsl");
    let Some(src) = [dir.join(&file), dir.join("dev").join(&file)]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
    else {
        return Err(format!(
            "no {file} in LOCOMOTION_SHADER_DIR={}",
            dir.display()
        ));
    };
    let mut read = |snippet: &str| std::fs::read_to_string(dir.join(snippet)).ok();
    let src = crate::shaders::import::expand(&file, &src, &mut read)?;
    // Read once per module (the module cache keeps it), so leaking it is bounded.
    Ok(Box::leak(src.into_boxed_str()))
}

/// A compiled kernel: its pipeline and, where its bindings are all buffers, the explicit
/// group-0 layout whose binding 0 (the parameters) takes a dynamic offset.
pub struct Compiled {
    pub pipeline: wgpu::ComputePipeline,
    /// None: wgpu derived the layout (textures bound); parameters are bound at a fixed offset.
    pub layout: Option<wgpu::BindGroupLayout>,
}

/// Compiled pipelines and modules, keyed by name.
#[derive(Default)]
pub struct PipelineCache {
    modules: Mutex<HashMap<(&'static str, bool), wgpu::ShaderModule>>,
    reflections: Mutex<HashMap<&'static str, Option<Arc<Reflection>>>>,
    pipelines: Mutex<HashMap<Kernel, Arc<Compiled>>>,
    /// The driver's pipeline cache, saved on disk (see `disk_cache.rs`), where there is one.
    disk: Option<DiskCache>,
    /// Nanoseconds spent creating pipelines (what the disk cache saves).
    compile_nanos: AtomicU64,
}

impl PipelineCache {
    /// A cache whose pipelines go through `disk` where given.
    pub(crate) fn with_disk(disk: Option<DiskCache>) -> Self {
        Self {
            disk,
            ..Self::default()
        }
    }

    /// True when pipelines are built through a driver cache kept on disk; `loaded` says
    /// whether a usable file was read at start.
    pub fn disk_cache(&self) -> Option<bool> {
        self.disk.as_ref().map(|d| d.loaded)
    }

    /// The disk cache in words, for `locomotion info`: its file and whether it was read, or
    /// why there is none.
    pub fn describe_disk_cache(&self, adapter_has_it: bool) -> String {
        match &self.disk {
            Some(d) if d.loaded => format!("{} (read)", d.path().display()),
            Some(d) => format!("{} (new)", d.path().display()),
            None if !adapter_has_it => "none (the adapter has no pipeline cache)".into(),
            None => "off".into(),
        }
    }

    /// Write the driver's pipeline cache to disk now (otherwise it is saved every few seconds
    /// while pipelines are compiled, and when the device closes).
    pub fn save(&self) {
        if let Some(d) = &self.disk {
            d.save();
        }
    }

    /// Time spent creating pipelines so far.
    pub fn compile_time(&self) -> Duration {
        Duration::from_nanos(self.compile_nanos.load(Ordering::Relaxed))
    }

    /// The pipeline of `kernel`, compiling its module and pipeline on first use.
    pub fn get(&self, device: &wgpu::Device, kernel: Kernel) -> Result<Arc<Compiled>, GpuError> {
        if let Some(p) = self.pipelines.lock().unwrap().get(&kernel) {
            if let Some(d) = &self.disk {
                d.save_if_due();
            }
            return Ok(Arc::clone(p));
        }
        let err = |reason: String| GpuError::Shader {
            shader: kernel.shader.into(),
            entry: kernel.entry.into(),
            reason,
        };
        let source = shader_source(kernel.shader).map_err(err)?;
        let module = {
            let mut modules = self.modules.lock().unwrap();
            modules
                .entry((kernel.shader, kernel.unchecked))
                .or_insert_with(|| {
                    let desc = wgpu::ShaderModuleDescriptor {
                        label: Some(kernel.shader),
                        source: wgpu::ShaderSource::Wgsl(source.into()),
                    };
                    if kernel.unchecked {
                        // SAFETY: only kernels whose every buffer and array access is guarded
                        // by their own bounds tests are marked unchecked (see Kernel::unchecked).
                        unsafe {
                            device.create_shader_module_trusted(
                                desc,
                                wgpu::ShaderRuntimeChecks::unchecked(),
                            )
                        }
                    } else {
                        device.create_shader_module(desc)
                    }
                })
                .clone()
        };
        let constants: Vec<(&str, f64)> = kernel
            .overrides
            .iter()
            .filter(|(n, _)| !n.is_empty())
            .map(|&(n, v)| (n, v as f64))
            .collect();
        let t0 = Instant::now();
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let layout = self.dynamic_layout(device, kernel, source);
        let pipeline_layout = layout.as_ref().map(|l| {
            device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(kernel.entry),
                bind_group_layouts: &[Some(l)],
                immediate_size: 0,
            })
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.entry),
            layout: pipeline_layout.as_ref(),
            module: &module,
            entry_point: Some(kernel.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                ..Default::default()
            },
            cache: self.disk.as_ref().map(|d| &d.cache),
        });
        let error = pollster::block_on(scope.pop());
        self.compile_nanos
            .fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if let Some(d) = &self.disk {
            d.compiled();
        }
        if let Some(e) = error {
            return Err(err(e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")));
        }
        let pipeline = Arc::new(Compiled { pipeline, layout });
        self.pipelines
            .lock()
            .unwrap()
            .insert(kernel, Arc::clone(&pipeline));
        Ok(pipeline)
    }

    /// The explicit group-0 layout of `kernel` (see [`Compiled::layout`]), from its shader's
    /// reflection, parsed once per shader file.
    fn dynamic_layout(
        &self,
        device: &wgpu::Device,
        kernel: Kernel,
        source: &str,
    ) -> Option<wgpu::BindGroupLayout> {
        let reflection = self
            .reflections
            .lock()
            .unwrap()
            .entry(kernel.shader)
            .or_insert_with(|| Reflection::new(source).map(Arc::new))
            .clone()?;
        let entries = reflection.dynamic_entries(kernel.entry)?;
        Some(
            device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(kernel.entry),
                entries: &entries,
            }),
        )
    }

    /// Number of compiled pipelines (for tests of the cache).
    pub fn len(&self) -> usize {
        self.pipelines.lock().unwrap().len()
    }

    /// True when nothing is compiled yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
