//! Watermarks of incremental SQL pulls: per (domain, system), the highest value of the
//! configured watermark column that a completed load has seen.

use crate::schema::source_watermarks::dsl as sw;
use crate::{now, DbConnection, StoreError};
use diesel::prelude::*;

pub fn get(
    conn: &mut DbConnection,
    domain: &str,
    system: &str,
) -> Result<Option<String>, StoreError> {
    Ok(sw::source_watermarks
        .find((domain, system))
        .select(sw::watermark)
        .first::<String>(conn)
        .optional()?)
}

/// Records the watermark reached by `batch_id`.
pub fn set(
    conn: &mut DbConnection,
    domain: &str,
    system: &str,
    watermark: &str,
    batch_id: i64,
) -> Result<(), StoreError> {
    conn.write_transaction(|c| {
        let t = now();
        let updated = diesel::update(sw::source_watermarks.find((domain, system)))
            .set((
                sw::watermark.eq(watermark),
                sw::batch_id.eq(batch_id),
                sw::updated_at.eq(t),
            ))
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(sw::source_watermarks)
                .values((
                    sw::domain.eq(domain),
                    sw::system.eq(system),
                    sw::watermark.eq(watermark),
                    sw::batch_id.eq(batch_id),
                    sw::updated_at.eq(t),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}
