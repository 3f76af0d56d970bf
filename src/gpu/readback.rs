//! Uploads and readbacks: host slices to pooled storage buffers and back as typed vectors.

use super::{Gpu, GpuBuffer, GpuError};

impl Gpu {
    /// A storage buffer holding `data` (padded to 4 bytes as copies require).
    pub fn upload<T: bytemuck::Pod>(&self, data: &[T], what: &str) -> Result<GpuBuffer, GpuError> {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let buf = self.pool.storage(bytes.len() as u64, what)?;
        self.write(&buf, data);
        Ok(buf)
    }

    /// Overwrite the start of `buf` with `data` (lands before work recorded after this call).
    pub fn write<T: bytemuck::Pod>(&self, buf: &GpuBuffer, data: &[T]) {
        self.write_at(buf, 0, data);
    }

    /// Overwrite `buf` from byte `offset` (a multiple of 4) with `data`. Queued batches that
    /// use `buf` are submitted first: the write would otherwise land before them.
    pub fn write_at<T: bytemuck::Pod>(&self, buf: &GpuBuffer, offset: u64, data: &[T]) {
        if buf.in_use() {
            self.flush();
        }
        let bytes: &[u8] = bytemuck::cast_slice(data);
        if bytes.len().is_multiple_of(4) {
            self.queue.write_buffer(buf.raw(), offset, bytes);
        } else {
            let mut padded = bytes.to_vec();
            padded.resize(bytes.len().next_multiple_of(4), 0);
            self.queue.write_buffer(buf.raw(), offset, &padded);
        }
    }

    /// A storage buffer of `bytes` filled with `word` (e.g. a NaN pattern to poison outputs).
    pub fn filled(&self, bytes: u64, word: u32, what: &str) -> Result<GpuBuffer, GpuError> {
        let buf = self.pool.storage(bytes, what)?;
        let words = vec![word; (bytes as usize).div_ceil(4)];
        self.queue
            .write_buffer(buf.raw(), 0, bytemuck::cast_slice(&words));
        Ok(buf)
    }

    /// Copy the logical contents of `buf` back to the host as `T`s (waits for the GPU).
    pub fn read<T: bytemuck::Pod>(&self, buf: &GpuBuffer) -> Result<Vec<T>, GpuError> {
        self.readbacks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let bytes = buf.bytes().next_multiple_of(4);
        let staging = self.pool.get(
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("readback"),
            });
        encoder.copy_buffer_to_buffer(buf.raw(), 0, staging.raw(), 0, bytes);
        // After every queued batch, in the same submit.
        let index = self
            .pending
            .submit(Some(encoder.finish()))
            .expect("a command buffer was given");
        let slice = staging.raw().slice(0..bytes);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait(Some(index))?;
        rx.recv()
            .map_err(|e| GpuError::Readback(e.to_string()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let out = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| GpuError::Readback(e.to_string()))?;
            let n = buf.bytes() as usize / std::mem::size_of::<T>();
            bytemuck::pod_collect_to_vec::<u8, T>(&view[..n * std::mem::size_of::<T>()])
        };
        staging.raw().unmap();
        Ok(out)
    }

    /// How many readbacks ([`Gpu::read`], hence `Tensor::to_vec`) this device has done.
    pub fn readbacks(&self) -> u64 {
        self.readbacks.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Block until `index` has finished on the GPU, or with None, all work recorded so far
    /// (queued batches are submitted first).
    pub fn wait(&self, index: Option<wgpu::SubmissionIndex>) -> Result<(), GpuError> {
        if index.is_none() {
            self.flush();
        }
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: index,
                timeout: None,
            })
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        match self.take_device_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
