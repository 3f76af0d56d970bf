//! A child process a test spawned, ended when the test fails or lets go of it: a failing
//! assertion between spawn and wait leaves no orphan behind.

use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

/// A running child; dropping it ends it (SIGTERM, then SIGKILL after 10 s).
pub struct Reaped(Option<Child>);

impl Reaped {
    /// Spawn `cmd`.
    pub fn spawn(cmd: &mut Command) -> Self {
        Self(Some(cmd.spawn().expect("the child starts")))
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("the child is still held")
    }

    /// Its process id.
    pub fn id(&mut self) -> u32 {
        self.child().id()
    }

    /// Its exit status, if it has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child().try_wait().unwrap()
    }

    /// End it at once with SIGKILL (nothing runs on its side: what a crash leaves) and wait.
    pub fn kill(mut self) {
        let mut c = self.0.take().unwrap();
        c.kill().unwrap();
        c.wait().unwrap();
    }

    /// Wait for it to end and collect what it wrote to piped stdout and stderr.
    pub fn wait_with_output(mut self) -> Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let Some(mut c) = self.0.take() else { return };
        // SIGTERM first: mpirun passes it on to its ranks, where a SIGKILL would orphan them.
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}
