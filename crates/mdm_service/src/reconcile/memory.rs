//! Resident memory at the end of each phase, so a run's figures say which phase holds the
//! memory, not only the process's peak (issue 23: memory that does not grow with the data).
//! Read from `/proc/self/status` (Linux); elsewhere a run records none.

/// Resident and peak resident memory in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resident {
    pub rss_mib: u64,
    pub peak_mib: u64,
}

/// The process's resident memory now, and its peak so far.
pub fn resident() -> Option<Resident> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = |field: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(field))?;
        line[field.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some(Resident {
        rss_mib: kib("VmRSS:")? / 1024,
        peak_mib: kib("VmHWM:")? / 1024,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_grows_with_a_large_allocation() {
        let Some(before) = resident() else {
            return; // not Linux: nothing to read
        };
        let block = vec![1u8; 64 << 20];
        let after = resident().expect("read twice");
        assert!(
            after.rss_mib >= before.rss_mib + 48,
            "{before:?} -> {after:?}"
        );
        assert!(after.peak_mib >= after.rss_mib);
        drop(block);
    }
}
