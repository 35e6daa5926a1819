//! A fixed pool of sessions of one model.
//!
//! `Session::run` needs the session exclusively, so concurrent requests each
//! take one session of the pool. A request first tries every session without
//! waiting, starting from a rotating position so load spreads evenly; only
//! when all are busy does it wait on one. The pool is sized to the number of
//! inference threads the host can run at once: more sessions would only
//! queue inside ONNX Runtime instead of here.

use std::sync::atomic::{AtomicUsize, Ordering};

use ort::session::Session;
use parking_lot::Mutex;

pub struct SessionPool {
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
}

impl SessionPool {
    /// A pool over `sessions`; it must hold at least one.
    pub fn new(sessions: Vec<Session>) -> Self {
        assert!(!sessions.is_empty(), "a session pool needs a session");
        Self {
            sessions: sessions.into_iter().map(Mutex::new).collect(),
            next: AtomicUsize::new(0),
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Runs `work` on a free session, waiting for one when all are busy.
    pub fn with_session<R>(&self, work: impl FnOnce(&mut Session) -> R) -> R {
        let n = self.sessions.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Some(mut session) = self.sessions[(start + i) % n].try_lock() {
                return work(&mut session);
            }
        }
        let mut session = self.sessions[start].lock();
        work(&mut session)
    }
}
