//! The in-process collective: one thread per replica (one wgpu device each), meeting at a
//! rendezvous for every operation.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Collective;
use crate::gpu::GpuError;

#[derive(Default)]
struct Round {
    /// Counts the rounds, so a replica never takes a later round's result for its own.
    number: u64,
    /// What each replica brought to this round.
    slots: Vec<Option<Vec<f32>>>,
    /// The combined result, once every replica has arrived.
    result: Option<Arc<Vec<f32>>>,
    /// Replicas that still have to take the result before the next round can fill.
    to_take: usize,
    /// Why the run stopped, once a replica aborted.
    aborted: Option<String>,
}

struct Hub {
    size: usize,
    timeout: Duration,
    round: Mutex<Round>,
    changed: Condvar,
}

/// One replica's handle on an in-process group (see [`ThreadGroup::new`]).
pub struct ThreadGroup {
    hub: Arc<Hub>,
    rank: usize,
    seconds: Mutex<f64>,
}

#[derive(Clone, Copy)]
enum Combine {
    Concat,
    Sum,
}

impl ThreadGroup {
    /// Handles for `size` replicas, rank 0 first; each goes to its own thread. A replica that
    /// waits longer than `timeout` for the others fails with an error naming the operation.
    pub fn new(size: usize, timeout: Duration) -> Vec<ThreadGroup> {
        let hub = Arc::new(Hub {
            size,
            timeout,
            round: Mutex::new(Round {
                slots: vec![None; size],
                ..Round::default()
            }),
            changed: Condvar::new(),
        });
        (0..size)
            .map(|rank| ThreadGroup {
                hub: Arc::clone(&hub),
                rank,
                seconds: Mutex::new(0.0),
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Round> {
        // A replica that panicked while holding the lock left nothing half-written that the
        // others read (the abort message is set before any panic can unwind past it).
        self.hub.round.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(
        &'a self,
        mut g: MutexGuard<'a, Round>,
        deadline: Instant,
        what: &str,
        done: impl Fn(&Round) -> bool,
    ) -> Result<MutexGuard<'a, Round>, GpuError> {
        loop {
            if let Some(why) = &g.aborted {
                return Err(GpuError::Collective(format!(
                    "replica {} stopped: {why}",
                    self.rank
                )));
            }
            if done(&g) {
                return Ok(g);
            }
            let now = Instant::now();
            if now >= deadline {
                let why = format!(
                    "{what}: the other replicas did not arrive within {:.0} s (LOCOMOTION_COLLECTIVE_TIMEOUT)",
                    self.hub.timeout.as_secs_f64()
                );
                g.aborted = Some(why.clone());
                self.hub.changed.notify_all();
                return Err(GpuError::Collective(format!(
                    "replica {}: {why}",
                    self.rank
                )));
            }
            g = self
                .hub
                .changed
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn exchange(
        &self,
        data: Vec<f32>,
        how: Combine,
        what: &str,
    ) -> Result<Arc<Vec<f32>>, GpuError> {
        let t0 = Instant::now();
        let deadline = t0 + self.hub.timeout;
        // Wait until the previous round's result has been taken by everyone.
        let mut g = self.wait(self.lock(), deadline, what, |r| r.to_take == 0)?;
        let mine = g.number;
        g.slots[self.rank] = Some(data);
        if g.slots.iter().all(Option::is_some) {
            let parts: Vec<Vec<f32>> = g.slots.iter_mut().map(|s| s.take().unwrap()).collect();
            let result = match how {
                Combine::Concat => parts.concat(),
                Combine::Sum => {
                    let n = parts[0].len();
                    if let Some((r, p)) = parts.iter().enumerate().find(|(_, p)| p.len() != n) {
                        let why = format!(
                            "{what}: replica {r} brought {} values, replica 0 brought {n}",
                            p.len()
                        );
                        g.aborted = Some(why.clone());
                        self.hub.changed.notify_all();
                        return Err(GpuError::Collective(why));
                    }
                    // In rank order, whichever replica arrived last.
                    let mut acc = parts[0].clone();
                    for p in &parts[1..] {
                        for (a, x) in acc.iter_mut().zip(p) {
                            *a += x;
                        }
                    }
                    acc
                }
            };
            g.result = Some(Arc::new(result));
            g.to_take = self.hub.size;
            self.hub.changed.notify_all();
        } else {
            g = self.wait(g, deadline, what, |r| {
                r.number == mine && r.result.is_some()
            })?;
        }
        let out = g
            .result
            .clone()
            .expect("a round's result is set before it is taken");
        g.to_take -= 1;
        if g.to_take == 0 {
            g.result = None;
            g.number += 1;
            self.hub.changed.notify_all();
        }
        drop(g);
        *self.seconds.lock().unwrap_or_else(|e| e.into_inner()) += t0.elapsed().as_secs_f64();
        Ok(out)
    }
}

impl Collective for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.hub.size
    }

    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>, GpuError> {
        Ok(self
            .exchange(local.to_vec(), Combine::Concat, "all-gather")?
            .to_vec())
    }

    fn all_reduce_sum(&self, data: &mut [f32]) -> Result<(), GpuError> {
        let sum = self.exchange(data.to_vec(), Combine::Sum, "all-reduce")?;
        data.copy_from_slice(&sum);
        Ok(())
    }

    fn abort(&self, why: &str) {
        let mut g = self.lock();
        if g.aborted.is_none() {
            g.aborted = Some(format!("replica {} failed: {why}", self.rank));
        }
        self.hub.changed.notify_all();
    }

    fn seconds(&self) -> f64 {
        *self.seconds.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T: Send>(n: usize, timeout: Duration, f: impl Fn(&ThreadGroup) -> T + Sync) -> Vec<T> {
        let groups = ThreadGroup::new(n, timeout);
        std::thread::scope(|s| {
            let hs: Vec<_> = groups.iter().map(|g| s.spawn(|| f(g))).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    #[test]
    fn gather_concatenates_and_reduce_sums_in_rank_order() {
        let out = run(3, Duration::from_secs(30), |g| {
            let mut acc = Vec::new();
            for round in 0..50 {
                let r = g.rank() as f32;
                let gathered = g.all_gather(&vec![r; g.rank() + 1]).unwrap();
                let mut x = vec![r + round as f32, 1.0];
                g.all_reduce_sum(&mut x).unwrap();
                acc.push((gathered, x));
            }
            acc
        });
        for per_rank in &out {
            for (round, (gathered, x)) in per_rank.iter().enumerate() {
                assert_eq!(gathered, &[0.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
                assert_eq!(x, &[3.0 + 3.0 * round as f32, 3.0]);
            }
        }
    }

    #[test]
    fn an_abort_or_a_missing_replica_stops_the_others() {
        let out = run(2, Duration::from_secs(30), |g| {
            if g.rank() == 1 {
                g.abort("out of memory");
                return String::new();
            }
            g.all_reduce_sum(&mut [1.0]).unwrap_err().to_string()
        });
        assert!(
            out[0].contains("replica 1 failed: out of memory"),
            "{}",
            out[0]
        );
        let out = run(2, Duration::from_millis(200), |g| {
            if g.rank() == 1 {
                return String::new();
            }
            g.all_gather(&[1.0]).unwrap_err().to_string()
        });
        assert!(out[0].contains("did not arrive within"), "{}", out[0]);
    }
}
