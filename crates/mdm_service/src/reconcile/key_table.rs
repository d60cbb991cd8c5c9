//! Every record's blocking keys in a full run, for the write of the key table at its end.
//! A partitioned run in process sets them aside in an unlinked temporary file while it
//! scores: 8 bytes per record and rule, 1 GB at 10M records and 12 rules, that scoring
//! does not need (a partition computes its members' keys again from their features).

use crate::ServiceError;
use mdm_core::partition::{RuleKeys, NO_KEY};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;

/// The run's keys, per rule, per record.
pub enum KeyTable {
    Memory(RuleKeys),
    File(SetAside),
}

/// Keys in a temporary file, rule after rule, each `records` little-endian `u64`s.
pub struct SetAside {
    file: File,
    rules: usize,
    records: usize,
}

impl KeyTable {
    /// Writes `keys` to a temporary file and frees them.
    pub fn set_aside(keys: RuleKeys) -> Result<Self, ServiceError> {
        let file = tempfile::tempfile().map_err(io)?;
        let records = if keys.rules() == 0 {
            0
        } else {
            keys.raw(0).len()
        };
        let mut out = BufWriter::new(&file);
        for r in 0..keys.rules() {
            for k in keys.raw(r) {
                out.write_all(&k.to_le_bytes()).map_err(io)?;
            }
        }
        out.flush().map_err(io)?;
        drop(out);
        Ok(Self::File(SetAside {
            file,
            rules: keys.rules(),
            records,
        }))
    }

    pub fn rules(&self) -> usize {
        match self {
            Self::Memory(k) => k.rules(),
            Self::File(f) => f.rules,
        }
    }

    /// Rule `rule`'s keys, record by record (read back from the file when set aside).
    pub fn rule(&self, rule: usize) -> Result<Vec<Option<u64>>, ServiceError> {
        match self {
            Self::Memory(k) => Ok(k.rule(rule).collect()),
            Self::File(f) => {
                let mut bytes = vec![0u8; f.records * 8];
                f.file
                    .read_exact_at(&mut bytes, (rule * f.records * 8) as u64)
                    .map_err(io)?;
                Ok(bytes
                    .chunks_exact(8)
                    .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .map(|k| (k != NO_KEY).then_some(k))
                    .collect())
            }
        }
    }
}

/// An I/O error of the temporary file (unlinked: its directory names it).
fn io(error: std::io::Error) -> ServiceError {
    ServiceError::Io {
        path: std::env::temp_dir(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_set_aside_read_back_as_they_were() {
        let keys = RuleKeys::from(vec![
            vec![Some(1), None, Some(u64::MAX - 1)],
            vec![None, Some(7), Some(0)],
        ]);
        let memory = KeyTable::Memory(keys.clone());
        let file = KeyTable::set_aside(keys).unwrap();
        assert!(matches!(file, KeyTable::File(_)));
        assert_eq!(file.rules(), 2);
        for r in 0..2 {
            assert_eq!(file.rule(r).unwrap(), memory.rule(r).unwrap());
        }
        assert_eq!(file.rule(1).unwrap(), vec![None, Some(7), Some(0)]);
    }
}
