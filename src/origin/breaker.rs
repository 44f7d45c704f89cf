//! Per-origin circuit breakers: after `threshold` failures in a row, a host is skipped for
//! `cooldown` (fast 503s instead of piling up sockets and workers behind a dead origin); then one
//! probe is let through (half-open), and its outcome closes or re-opens the circuit.
//!
//! Failures are the origin's fault only: connect errors, timeouts, 5xx, broken bodies. A 404, a
//! 403, a refused redirect, a too-large source or one that is not an image says nothing about the
//! origin's health (and any answer but a failure resets the count).
//!
//! One client must not be able to open a host's circuit for everybody by asking for the same
//! failing URL again and again. So a failure counts by its [`Scope`]: a connection that could not
//! be made (refused, unreachable, connect timeout) is the host's and counts every time; a failure
//! of one source (a 5xx, a body that broke off, a fetch past its deadline) counts once per distinct
//! path in the run of failures (the query string is ignored, so `?1`, `?2`... are one path). The
//! circuit opens at `threshold` counted failures: a client needs that many distinct failing paths,
//! and an origin failing on that many is failing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

/// Whose failure it was: the host's (the connection), or one source's (its path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// No connection could be made: every URL on the host would fail the same way.
    Host,
    /// This source failed (a hash of its path): counted once per run of failures.
    Source(u64),
}

impl Scope {
    /// A failure of the source at `path` (the query string is not part of it).
    pub fn source(path: &str) -> Scope {
        let digest = blake3::hash(path.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_bytes()[..8]);
        Scope::Source(u64::from_le_bytes(first))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
        /// The sources that failed in this run (at most `threshold` of them).
        sources: Vec<u64>,
    },
    Open {
        until: Instant,
    },
    /// Cool-down over; one probe is in flight.
    HalfOpen,
}

/// Why a fetch may not go ahead: the circuit is open for this long yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Open {
    pub retry_after: Duration,
}

pub struct Breakers {
    hosts: Mutex<HashMap<String, State>>,
    threshold: u32,
    cooldown: Duration,
    open_gauge: Gauge,
    trips: Counter,
}

impl Breakers {
    /// `threshold` 0 disables the breakers.
    pub fn new(threshold: u32, cooldown: Duration, open_gauge: Gauge, trips: Counter) -> Breakers {
        Breakers {
            hosts: Mutex::new(HashMap::new()),
            threshold,
            cooldown,
            open_gauge,
            trips,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, State>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts/removes).
        self.hosts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// May a request to `host` go ahead now?
    pub fn admit(&self, host: &str) -> Result<(), Open> {
        if self.threshold == 0 {
            return Ok(());
        }
        let mut hosts = self.lock();
        match hosts.get(host) {
            None | Some(State::Closed { .. }) => Ok(()),
            Some(&State::Open { until }) => {
                let now = Instant::now();
                if now >= until {
                    hosts.insert(host.to_string(), State::HalfOpen);
                    Ok(())
                } else {
                    Err(Open {
                        retry_after: until - now,
                    })
                }
            }
            // Only the one probe goes through until it reports back.
            Some(State::HalfOpen) => Err(Open {
                retry_after: Duration::from_secs(1),
            }),
        }
    }

    pub fn record_success(&self, host: &str) {
        if self.threshold == 0 {
            return;
        }
        if let Some(State::HalfOpen | State::Open { .. }) = self.lock().remove(host) {
            self.open_gauge.dec();
        }
    }

    pub fn record_failure(&self, host: &str, scope: Scope) {
        if self.threshold == 0 {
            return;
        }
        let mut hosts = self.lock();
        let open = State::Open {
            until: Instant::now() + self.cooldown,
        };
        let next = match hosts.remove(host) {
            // The probe failed (or a request admitted before the trip did): stay open.
            Some(State::HalfOpen | State::Open { .. }) => {
                self.trips.inc();
                open
            }
            Some(State::Closed {
                mut failures,
                mut sources,
            }) => {
                if count(scope, &mut sources) {
                    failures += 1;
                }
                self.closed_or_open(failures, sources, open)
            }
            None => {
                let mut sources = Vec::new();
                count(scope, &mut sources);
                self.closed_or_open(1, sources, open)
            }
        };
        hosts.insert(host.to_string(), next);
    }

    fn closed_or_open(&self, failures: u32, sources: Vec<u64>, open: State) -> State {
        if failures >= self.threshold {
            self.open_gauge.inc();
            self.trips.inc();
            open
        } else {
            State::Closed { failures, sources }
        }
    }
}

/// Whether a failure of `scope` counts, noting a source's first failure in this run.
fn count(scope: Scope, sources: &mut Vec<u64>) -> bool {
    match scope {
        Scope::Host => true,
        Scope::Source(id) if sources.contains(&id) => false,
        Scope::Source(id) => {
            sources.push(id);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breakers(threshold: u32, cooldown: Duration) -> Breakers {
        Breakers::new(threshold, cooldown, Gauge::default(), Counter::default())
    }

    #[test]
    fn trips_after_the_threshold_and_recovers_through_one_probe() {
        let b = breakers(3, Duration::from_millis(50));
        for _ in 0..2 {
            b.record_failure("a:80", Scope::Host);
            assert!(b.admit("a:80").is_ok());
        }
        b.record_failure("a:80", Scope::Host);
        assert!(b.admit("a:80").is_err(), "open after three failures");
        assert!(b.admit("b:80").is_ok(), "other hosts are unaffected");
        assert_eq!(b.open_gauge.get(), 1);
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.admit("a:80").is_ok(), "half-open: one probe");
        assert!(b.admit("a:80").is_err(), "only one probe at a time");
        b.record_success("a:80");
        assert!(b.admit("a:80").is_ok(), "closed again");
        assert_eq!(b.open_gauge.get(), 0);
        assert_eq!(b.trips.get(), 1);
    }

    #[test]
    fn a_failed_probe_reopens_the_circuit() {
        let b = breakers(1, Duration::from_millis(30));
        b.record_failure("a:80", Scope::Host);
        assert!(b.admit("a:80").is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.admit("a:80").is_ok());
        b.record_failure("a:80", Scope::Host);
        assert!(b.admit("a:80").is_err());
        assert_eq!(b.open_gauge.get(), 1);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let b = breakers(2, Duration::from_secs(60));
        b.record_failure("a:80", Scope::Host);
        b.record_success("a:80");
        b.record_failure("a:80", Scope::Host);
        assert!(b.admit("a:80").is_ok());
    }

    #[test]
    fn one_failing_source_counts_once_whatever_its_query() {
        let b = breakers(3, Duration::from_secs(60));
        for _ in 0..50 {
            b.record_failure("a:80", Scope::source("/broken.jpg"));
        }
        assert!(b.admit("a:80").is_ok(), "one path, asked 50 times");
        b.record_failure("a:80", Scope::source("/other.jpg"));
        assert!(b.admit("a:80").is_ok());
        b.record_failure("a:80", Scope::source("/third.jpg"));
        assert!(b.admit("a:80").is_err(), "three distinct failing paths");
    }

    #[test]
    fn host_failures_count_every_time_and_a_success_forgets_the_sources() {
        let b = breakers(2, Duration::from_secs(60));
        b.record_failure("a:80", Scope::source("/x"));
        b.record_success("a:80");
        b.record_failure("a:80", Scope::source("/x"));
        assert!(b.admit("a:80").is_ok());
        b.record_failure("a:80", Scope::Host);
        assert!(
            b.admit("a:80").is_err(),
            "one source and one refused connection"
        );
    }

    #[test]
    fn zero_disables_breaking() {
        let b = breakers(0, Duration::from_secs(60));
        for _ in 0..100 {
            b.record_failure("a:80", Scope::Host);
        }
        assert!(b.admit("a:80").is_ok());
    }
}
