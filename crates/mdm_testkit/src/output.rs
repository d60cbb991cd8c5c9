//! Where generated rows end up: CSV files (one per system plus `truth.csv`) or memory.
//!
//! Rows are buffered per system and shuffled in chunks before they get their source ids,
//! so a file's order says nothing about which records belong together across systems,
//! while memory stays bounded for any number of entities.

use crate::engine::RowSink;
use crate::systems::{IdMinter, SystemProfile};
use crate::GenError;
use mdm_core::{DomainRules, RecordKey, SourceKey, SourceRecord};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Rows per system buffered before a shuffle and write.
const CHUNK: usize = 32_768;

/// Receives finished records, values aligned with the domain's attributes.
pub(crate) trait Backend {
    fn write(
        &mut self,
        system: usize,
        source_id: String,
        values: Vec<Option<String>>,
        entity: u64,
    ) -> Result<(), GenError>;
    fn finish(&mut self) -> Result<(), GenError>;
}

/// Buffers, shuffles, mints ids, maps generator fields to the rules' attribute order.
pub(crate) struct ShufflingSink<'a, B: Backend> {
    backend: B,
    profiles: &'a [SystemProfile],
    buffers: Vec<Vec<(Vec<Option<String>>, u64)>>,
    minters: Vec<IdMinter>,
    /// For each rules attribute and system: the generator field to take, if any.
    columns: Vec<Vec<Option<usize>>>,
    rng: ChaCha8Rng,
    pub counts: Vec<u64>,
}

impl<'a, B: Backend> ShufflingSink<'a, B> {
    pub fn new(
        backend: B,
        profiles: &'a [SystemProfile],
        rules: &DomainRules,
        fields: &[&str],
        mut rng: ChaCha8Rng,
    ) -> Self {
        let columns = profiles
            .iter()
            .map(|p| {
                rules
                    .attributes
                    .iter()
                    .map(|a| {
                        let recorded = p.records(&a.name);
                        fields
                            .iter()
                            .position(|f| *f == a.name)
                            .filter(|_| recorded)
                    })
                    .collect()
            })
            .collect();
        let minters = profiles
            .iter()
            .map(|p| IdMinter::new(p.id_style, &mut rng))
            .collect();
        Self {
            backend,
            profiles,
            buffers: profiles.iter().map(|_| Vec::new()).collect(),
            minters,
            columns,
            rng,
            counts: vec![0; profiles.len()],
        }
    }

    fn flush(&mut self, system: usize) -> Result<(), GenError> {
        let mut buf = std::mem::take(&mut self.buffers[system]);
        buf.shuffle(&mut self.rng);
        let marker = self.profiles[system].null_marker;
        for (mut row, entity) in buf.drain(..) {
            let id = self.minters[system].mint(&mut self.rng);
            let values = self.columns[system]
                .iter()
                .map(|col| {
                    let v = col.and_then(|i| row[i].take()).filter(|v| !v.is_empty());
                    v.or_else(|| (!marker.is_empty()).then(|| marker.to_string()))
                })
                .collect();
            self.backend.write(system, id, values, entity)?;
            self.counts[system] += 1;
        }
        self.buffers[system] = buf;
        Ok(())
    }

    /// Writes what is still buffered and closes the backend.
    pub fn finish(mut self) -> Result<(B, Vec<u64>), GenError> {
        for s in 0..self.buffers.len() {
            self.flush(s)?;
        }
        self.backend.finish()?;
        Ok((self.backend, self.counts))
    }
}

impl<B: Backend> RowSink for ShufflingSink<'_, B> {
    fn push(
        &mut self,
        system: usize,
        row: Vec<Option<String>>,
        entity: u64,
    ) -> Result<(), GenError> {
        self.buffers[system].push((row, entity));
        if self.buffers[system].len() >= CHUNK {
            self.flush(system)?;
        }
        Ok(())
    }
}

/// `DIR/<system>.csv` per system and `DIR/truth.csv`.
pub(crate) struct CsvBackend {
    writers: Vec<(PathBuf, csv::Writer<BufWriter<File>>)>,
    truth: (PathBuf, csv::Writer<BufWriter<File>>),
    systems: Vec<String>,
}

fn create(path: &Path) -> Result<csv::Writer<BufWriter<File>>, GenError> {
    let file = File::create(path).map_err(|error| GenError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    Ok(csv::Writer::from_writer(BufWriter::with_capacity(
        1 << 20,
        file,
    )))
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> GenError + '_ {
    move |error| GenError::Csv {
        path: path.to_path_buf(),
        error,
    }
}

impl CsvBackend {
    pub fn create(
        dir: &Path,
        profiles: &[SystemProfile],
        rules: &DomainRules,
    ) -> Result<Self, GenError> {
        std::fs::create_dir_all(dir).map_err(|error| GenError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
        let mut writers = Vec::new();
        for p in profiles {
            let path = dir.join(format!("{}.csv", p.name));
            let mut w = create(&path)?;
            let header = std::iter::once("source_id")
                .chain(rules.attributes.iter().map(|a| a.name.as_str()));
            w.write_record(header).map_err(csv_err(&path))?;
            writers.push((path, w));
        }
        let path = dir.join("truth.csv");
        let mut truth = create(&path)?;
        truth
            .write_record(["source_system", "source_id", "entity_id"])
            .map_err(csv_err(&path))?;
        Ok(Self {
            writers,
            truth: (path, truth),
            systems: profiles.iter().map(|p| p.name.to_string()).collect(),
        })
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.writers.iter().map(|(p, _)| p.clone()).collect();
        v.push(self.truth.0.clone());
        v
    }
}

impl Backend for CsvBackend {
    fn write(
        &mut self,
        system: usize,
        source_id: String,
        values: Vec<Option<String>>,
        entity: u64,
    ) -> Result<(), GenError> {
        let (path, w) = &mut self.writers[system];
        let fields = std::iter::once(source_id.as_str())
            .chain(values.iter().map(|v| v.as_deref().unwrap_or("")));
        w.write_record(fields).map_err(csv_err(path))?;
        let (tpath, t) = &mut self.truth;
        let entity = format!("E{entity}");
        t.write_record([
            self.systems[system].as_str(),
            source_id.as_str(),
            entity.as_str(),
        ])
        .map_err(csv_err(tpath))?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), GenError> {
        for (path, w) in &mut self.writers {
            w.flush().map_err(|error| GenError::Io {
                path: path.clone(),
                error,
            })?;
        }
        let (path, t) = &mut self.truth;
        t.flush().map_err(|error| GenError::Io {
            path: path.clone(),
            error,
        })
    }
}

/// Records and their entities kept in memory, for tests and benches.
pub(crate) struct MemBackend {
    pub systems: Vec<mdm_core::SystemName>,
    pub records: Vec<SourceRecord>,
    pub entities: Vec<u64>,
}

impl Backend for MemBackend {
    fn write(
        &mut self,
        system: usize,
        source_id: String,
        values: Vec<Option<String>>,
        entity: u64,
    ) -> Result<(), GenError> {
        let source_id =
            SourceKey::parse(&source_id).map_err(|e| GenError::Config(e.to_string()))?;
        self.records.push(SourceRecord {
            key: RecordKey {
                system: self.systems[system].clone(),
                source_id,
            },
            values,
        });
        self.entities.push(entity);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), GenError> {
        Ok(())
    }
}
