//! Relationships between golden records, for the commands and the API: the types in force
//! (stored by the commands that run reconciles, read by the runs and the readers), a golden
//! record's relationships (now or as of a time), hierarchies walked up and down, and the
//! export. Resolution itself happens in the reconcile run (`reconcile::relationships`).

pub mod groups;
mod hierarchy;

pub use hierarchy::{hierarchy, HierarchyNode, HierarchyPage, Walk, WalkSpec};

use crate::ServiceError;
use mdm_core::relationships::RelationshipRules;
use mdm_store::relationships::{Direction, Relationship, TypeRow};
use mdm_store::{now, DbConnection};

/// A relationship as the run wants it, attributes and lineage as JSON.
pub(crate) struct Desired {
    pub from: String,
    pub to: String,
    pub attributes: String,
    pub lineage: String,
}

impl From<mdm_core::relationships::GoldenRelationship> for Desired {
    fn from(g: mdm_core::relationships::GoldenRelationship) -> Self {
        Desired {
            attributes: serde_json::to_string(&g.attributes).expect("a map serializes"),
            lineage: serde_json::to_string(&g.lineage).expect("lineage serializes"),
            from: g.from,
            to: g.to,
        }
    }
}

/// Stores `rules` as the types in force (what `mdm reconcile` and `mdm serve` do at start).
pub fn sync_types(conn: &mut DbConnection, rules: &RelationshipRules) -> Result<(), ServiceError> {
    let t = now();
    let rows: Vec<TypeRow> = rules
        .types
        .iter()
        .map(|ty| TypeRow {
            from_domain: ty.from.clone(),
            name: ty.name.clone(),
            to_domain: ty.to.clone(),
            cardinality: ty.cardinality.as_str().to_string(),
            definition: serde_json::to_string(ty).expect("a type serializes"),
            updated_at: t,
        })
        .collect();
    Ok(mdm_store::relationships::sync_types(conn, &rows)?)
}

/// The types in force, as last stored.
pub fn load_types(conn: &mut DbConnection) -> Result<RelationshipRules, ServiceError> {
    Ok(mdm_store::relationships::rules_in_force(conn)?)
}

/// One relationship as readers see it, from the point of view of the record asked about.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RelationshipView {
    /// The type's name (`parent_of`, `contact_of`, ...).
    #[serde(rename = "type")]
    pub rel_type: String,
    /// `out` when the record is the `from` end, `in` when it is the `to` end.
    pub direction: String,
    pub from_domain: String,
    pub from_golden_id: String,
    pub to_domain: String,
    pub to_golden_id: String,
    /// The golden ID at the other end.
    pub other_golden_id: String,
    pub version: i32,
    pub attributes: serde_json::Value,
    /// The source links behind it: system, origin, from/to source ID, version, batch.
    pub lineage: serde_json::Value,
    /// When this version became valid (RFC 3339, UTC).
    pub valid_from: String,
}

/// Fields shared by a stored relationship and one of its history versions.
pub(crate) struct Parts<'a> {
    pub rel_type: &'a str,
    pub from_domain: &'a str,
    pub from: &'a str,
    pub to_domain: &'a str,
    pub to: &'a str,
    pub version: i32,
    pub attributes: &'a str,
    pub lineage: &'a str,
    pub valid_from: chrono::NaiveDateTime,
}

pub(crate) fn view(id: &str, p: Parts<'_>) -> RelationshipView {
    let out = p.from == id;
    let json = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
    RelationshipView {
        rel_type: p.rel_type.to_string(),
        direction: if out { "out" } else { "in" }.to_string(),
        from_domain: p.from_domain.to_string(),
        from_golden_id: p.from.to_string(),
        to_domain: p.to_domain.to_string(),
        to_golden_id: p.to.to_string(),
        other_golden_id: if out { p.to } else { p.from }.to_string(),
        version: p.version,
        attributes: json(p.attributes),
        lineage: json(p.lineage),
        valid_from: p.valid_from.and_utc().to_rfc3339(),
    }
}

pub(crate) fn stored_view(id: &str, r: &Relationship) -> RelationshipView {
    view(
        id,
        Parts {
            rel_type: &r.rel_type,
            from_domain: &r.from_domain,
            from: &r.from_golden_id,
            to_domain: &r.to_domain,
            to: &r.to_golden_id,
            version: r.version,
            attributes: &r.attributes,
            lineage: &r.lineage,
            valid_from: r.updated_at,
        },
    )
}

/// The relationships of golden record `id` of `domain` (now, or as of `at`), optionally of
/// one type and direction.
pub fn of_golden(
    conn: &mut DbConnection,
    domain: &str,
    id: &str,
    rel_type: Option<&str>,
    direction: Direction,
    at: Option<chrono::NaiveDateTime>,
) -> Result<Vec<RelationshipView>, ServiceError> {
    // The record's own end must be in `domain`: a supplier's `supplies` are out, a
    // product's in.
    let mine = |from_domain: &str, to_domain: &str, from: &str| {
        if from == id {
            from_domain == domain
        } else {
            to_domain == domain
        }
    };
    let Some(at) = at else {
        return Ok(
            mdm_store::relationships::of_golden(conn, id, direction, rel_type)?
                .iter()
                .filter(|r| mine(&r.from_domain, &r.to_domain, &r.from_golden_id))
                .map(|r| stored_view(id, r))
                .collect(),
        );
    };
    let wanted = |from: &str| match direction {
        Direction::Out => from == id,
        Direction::In => from != id,
        Direction::Both => true,
    };
    Ok(mdm_store::relationships::of_golden_as_of(conn, id, at)?
        .iter()
        .filter(|h| rel_type.is_none_or(|t| t == h.rel_type))
        .filter(|h| wanted(&h.from_golden_id))
        .filter(|h| mine(&h.from_domain, &h.to_domain, &h.from_golden_id))
        .map(|h| {
            view(
                id,
                Parts {
                    rel_type: &h.rel_type,
                    from_domain: &h.from_domain,
                    from: &h.from_golden_id,
                    to_domain: &h.to_domain,
                    to: &h.to_golden_id,
                    version: h.version,
                    attributes: &h.attributes,
                    lineage: &h.lineage,
                    valid_from: h.valid_from,
                },
            )
        })
        .collect())
}

/// Writes the active relationships with an end in `domain` (`mdm export relationships`),
/// in key order, a page at a time; returns how many.
pub fn export(
    conn: &mut DbConnection,
    domain: &str,
    format: crate::export::Format,
    out: &mut dyn std::io::Write,
) -> Result<u64, ServiceError> {
    let io = |e: std::io::Error| ServiceError::Io {
        path: "<export>".into(),
        error: e,
    };
    let csv_err = |e: csv::Error| ServiceError::Invalid(format!("writing CSV: {e}"));
    match format {
        crate::export::Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "type",
                "from_domain",
                "from_golden_id",
                "to_domain",
                "to_golden_id",
                "version",
                "attributes",
                "lineage",
            ])
            .map_err(csv_err)?;
            let n = pages(conn, domain, &mut |r| {
                let version = r.version.to_string();
                w.write_record([
                    &r.rel_type,
                    &r.from_domain,
                    &r.from_golden_id,
                    &r.to_domain,
                    &r.to_golden_id,
                    &version,
                    &r.attributes,
                    &r.lineage,
                ])
                .map_err(csv_err)
            })?;
            w.flush().map_err(io)?;
            Ok(n)
        }
        crate::export::Format::Ndjson => pages(conn, domain, &mut |r| {
            let json = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
            let line = serde_json::json!({
                "type": r.rel_type,
                "from_domain": r.from_domain,
                "from_golden_id": r.from_golden_id,
                "to_domain": r.to_domain,
                "to_golden_id": r.to_golden_id,
                "version": r.version,
                "attributes": json(&r.attributes),
                "lineage": json(&r.lineage),
            });
            writeln!(out, "{line}").map_err(io)
        }),
    }
}

/// Calls `each` for every active relationship with an end in `domain`, in key order.
fn pages(
    conn: &mut DbConnection,
    domain: &str,
    each: &mut dyn FnMut(&Relationship) -> Result<(), ServiceError>,
) -> Result<u64, ServiceError> {
    let (mut after, mut n) = (None, 0u64);
    loop {
        let page = mdm_store::relationships::active_page(conn, domain, after.take(), 5000)?;
        let Some(last) = page.last() else {
            return Ok(n);
        };
        after = Some((
            last.from_domain.clone(),
            last.rel_type.clone(),
            last.from_golden_id.clone(),
            last.to_golden_id.clone(),
        ));
        for r in &page {
            each(r)?;
            n += 1;
        }
    }
}
