//! How `bench train` shows its report: the table people read, each row's sizes, the
//! data-parallel rows' exchange shares and the per-kernel profiles; and the JSON file.

use std::path::Path;

use anyhow::Result;

use super::train::{RowProfile, TrainReport};

impl TrainReport {
    /// The table people read, then each profile.
    pub fn table(&self) -> String {
        let mut s = format!(
            "adapter: {} | driver: {} | backend: {}\nhost: {} ({} cores), load average {} at start, {} at end\n",
            self.adapter,
            self.driver,
            self.backend,
            self.host.cpu,
            self.host.cores,
            self.host.load_average,
            self.load_average_end
        );
        s += &format!(
            "{:<34} {:>10} {:>9} {:>9} {:>9} {:>9} {:>11} {:>8}\n",
            "row",
            "step (ms)",
            "CPU (ms)",
            "steps/s",
            "clips/s",
            "GFLOP/s",
            "dispatches",
            "submits"
        );
        for r in &self.rows {
            s += &format!(
                "{:<34} {:>10.1} {:>9} {:>9.2} {:>9} {:>9.2} {:>11.0} {:>8.0}\n",
                r.name,
                r.step_s * 1e3,
                r.cpu_s.map_or("-".into(), |c| format!("{:.0}", c * 1e3)),
                r.steps_per_s,
                r.clips_per_s.map_or("-".into(), |c| format!("{c:.1}")),
                r.gflops,
                r.dispatches_per_step,
                r.submits_per_step
            );
        }
        for r in &self.rows {
            s += &format!(
                "  {}: {}; {:.3} GFLOP a step; steps {:.1}-{:.1} ms over {}; {:.0} new bind groups a step (the others cached)\n",
                r.name,
                r.config,
                r.flops_per_step / 1e9,
                r.step_s_min * 1e3,
                r.step_s_max * 1e3,
                r.steps,
                r.bind_groups_created_per_step
            );
        }
        let mut peaks = 0;
        for r in &self.rows {
            if let (Some(b), Some(batch)) = (r.peak_memory_bytes, r.batch) {
                s += &format!(
                    "  {}: peak memory {:.1} MiB at batch {batch}\n",
                    r.name,
                    b as f64 / (1024.0 * 1024.0)
                );
                peaks += 1;
            }
        }
        if peaks > 0 {
            s += "  (peak memory is an estimate: the device buffers the engine's pool allocated at once, rounded up to size classes; the driver's own memory and the pipelines are not counted)\n";
        }
        for r in self.rows.iter().filter(|r| r.devices > 1) {
            s += &format!(
                "  {}: gradient all-reduce (flatten, readback, exchange, upload) {:.1} % of the step; inside exchanges (all-gathers and all-reduces, waits for the other devices included) {:.1} %\n",
                r.name,
                100.0 * r.allreduce_share.unwrap_or(0.0),
                100.0 * r.collective_share.unwrap_or(0.0)
            );
        }
        for p in &self.profiles {
            s += &p.table();
        }
        s
    }

    /// Write the report as JSON to `path` (atomically).
    pub fn write_json(&self, path: &Path) -> Result<()> {
        crate::util::fs::write_atomic(path, serde_json::to_string_pretty(self)?.as_bytes())
    }
}

impl RowProfile {
    /// The per-kernel breakdown as text.
    pub fn table(&self) -> String {
        let t = &self.trace;
        let ms = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{:.2}", x * 1e3));
        let mut s = format!(
            "\nprofile of one {} step: {:.1} ms wall (traced), {} dispatches, {} submits, {} copies\n",
            self.name,
            self.step_s * 1e3,
            t.dispatches,
            t.submits,
            t.copies
        );
        s += &format!(
            "  GPU busy in dispatches {} ms, gaps between dispatches {} ms; host {:.1} us a dispatch, {:.1} us a submit ({:.1} ms in all)\n",
            ms(t.gpu_busy_s),
            ms(t.gpu_gaps_s),
            t.host_per_dispatch_s * 1e6,
            t.host_per_submit_s * 1e6,
            t.host_total_s * 1e3
        );
        // Names carry their specialisation constants: the column is as wide as the longest.
        let w = t
            .kernels
            .iter()
            .map(|k| k.kernel.len())
            .max()
            .unwrap_or(0)
            .max(44);
        s += &format!(
            "  {:<w$} {:>6} {:>10} {:>7} {:>10} {:>8}\n",
            "kernel", "count", "GPU ms", "share", "host ms", "GFLOP/s"
        );
        for k in &t.kernels {
            s += &format!(
                "  {:<w$} {:>6} {:>10} {:>7} {:>10.2} {:>8}\n",
                k.kernel,
                k.count,
                ms(k.gpu_s),
                k.share.map_or("-".into(), |x| format!("{:.1}%", x * 100.0)),
                k.host_s * 1e3,
                k.gflops.map_or("-".into(), |x| format!("{x:.1}"))
            );
        }
        s
    }
}
