//! The standard `process_*` metrics (as every Prometheus client library exports them) and
//! `imgshield_build_info`, read when `/metrics` is scraped: CPU time, resident and virtual memory,
//! threads and file descriptors from `/proc/self` (Linux; elsewhere these series are absent), and
//! the start time of the process.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

/// Linux reports CPU times in `/proc` in USER_HZ, which its ABI fixes at 100 per second.
const USER_HZ: f64 = 100.0;

/// The unprefixed registry of process metrics.
pub(super) fn registry() -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Process {
        started: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    }));
    registry
}

#[derive(Debug)]
struct Process {
    /// Seconds since the Unix epoch when the metrics were set up (start-up).
    started: f64,
}

/// What `/proc/self` says now.
#[derive(Debug, Default, PartialEq)]
struct Reading {
    cpu_seconds: f64,
    resident_bytes: i64,
    virtual_bytes: i64,
    threads: i64,
    open_fds: i64,
    max_fds: i64,
}

impl Reading {
    fn now() -> Option<Reading> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
        let mut reading = parse(&stat, &status, &limits)?;
        reading.open_fds = i64::try_from(open_fds).unwrap_or(i64::MAX);
        Some(reading)
    }
}

/// Reads CPU time from `stat` (fields 14 and 15, after the parenthesised name, which may hold
/// spaces), memory and threads from `status`, the descriptor limit from `limits`.
fn parse(stat: &str, status: &str, limits: &str) -> Option<Reading> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): utime is field 14, stime 15.
    let ticks = |field: usize| fields.get(field - 3)?.parse::<f64>().ok();
    let cpu_seconds = (ticks(14)? + ticks(15)?) / USER_HZ;
    let kib = |key: &str| -> Option<i64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..]
            .split_whitespace()
            .next()?
            .parse::<i64>()
            .ok()
    };
    let max_fds = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|soft| soft.parse::<i64>().ok())
        .unwrap_or(-1);
    Some(Reading {
        cpu_seconds,
        resident_bytes: kib("VmRSS:")? * 1024,
        virtual_bytes: kib("VmSize:")? * 1024,
        threads: kib("Threads:")?,
        open_fds: 0,
        max_fds,
    })
}

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let gauge = |encoder: &mut DescriptorEncoder,
                     name: &str,
                     help: &str,
                     unit: Option<Unit>,
                     value: f64|
         -> Result<(), fmt::Error> {
            let metric = ConstGauge::new(value);
            let at = encoder.encode_descriptor(name, help, unit.as_ref(), metric.metric_type())?;
            metric.encode(at)
        };
        gauge(
            &mut encoder,
            "process_start_time",
            "Start time of the process since the Unix epoch.",
            Some(Unit::Seconds),
            self.started,
        )?;
        let Some(now) = Reading::now() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(now.cpu_seconds);
        let at = encoder.encode_descriptor(
            "process_cpu",
            "Total user and system CPU time spent.",
            Some(&Unit::Seconds),
            cpu.metric_type(),
        )?;
        cpu.encode(at)?;
        let as_f64 = |n: i64| n as f64;
        for (name, help, unit, value) in [
            (
                "process_resident_memory",
                "Resident memory size.",
                Some(Unit::Bytes),
                now.resident_bytes,
            ),
            (
                "process_virtual_memory",
                "Virtual memory size.",
                Some(Unit::Bytes),
                now.virtual_bytes,
            ),
            (
                "process_threads",
                "OS threads in the process.",
                None,
                now.threads,
            ),
            (
                "process_open_fds",
                "Open file descriptors.",
                None,
                now.open_fds,
            ),
            (
                "process_max_fds",
                "Limit on open file descriptors.",
                None,
                now.max_fds,
            ),
        ] {
            gauge(&mut encoder, name, help, unit, as_f64(value))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read_even_with_spaces_in_the_name() {
        let stat = "4242 (img shield) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0";
        let status = "Name:\timg\nVmSize:\t  204800 kB\nVmRSS:\t   51200 kB\nThreads:\t9\n";
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        let reading = parse(stat, status, limits).expect("parses");
        assert_eq!(reading.cpu_seconds, 3.0);
        assert_eq!(reading.resident_bytes, 51200 * 1024);
        assert_eq!(reading.virtual_bytes, 204800 * 1024);
        assert_eq!(reading.threads, 9);
        assert_eq!(reading.max_fds, 1024);
    }

    #[test]
    fn this_process_can_be_read() {
        let reading = Reading::now().expect("Linux /proc");
        assert!(reading.resident_bytes > 0 && reading.threads >= 1 && reading.open_fds >= 3);
    }
}
