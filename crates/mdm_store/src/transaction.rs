//! Write transactions. On SQLite a plain (deferred) `BEGIN` takes no lock; the first read
//! takes a read snapshot, and the first write must then upgrade it to the write lock. When
//! another connection holds that lock, or committed since the snapshot was taken, SQLite
//! answers SQLITE_BUSY at once, without calling the busy handler (waiting could deadlock
//! two upgraders), so the busy timeout never helps and concurrent pushes failed with
//! "database is locked" after a few milliseconds. `BEGIN IMMEDIATE` takes the write lock
//! first, where the busy timeout does wait. PostgreSQL needs nothing of the kind.

use crate::DbConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::Error;
use diesel::Connection;

impl DbConnection {
    /// Runs `f` in a transaction that is going to write, committed when it returns `Ok`.
    /// Every transaction that writes goes through here; read-only ones may use
    /// `transaction`. Nested in an open transaction it is a savepoint, as `transaction` is.
    pub fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<Error>,
    {
        let DbConnection::Sqlite(sqlite) = self else {
            return self.transaction(f);
        };
        match AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE") {
            Ok(()) => {}
            Err(Error::AlreadyInTransaction) => return self.transaction(f),
            Err(e) => return Err(e.into()),
        }
        // The rest is diesel's own `TransactionManager::transaction`: the state it keeps is
        // the SQLite connection's, which the MultiConnection's manager delegates to.
        match f(self) {
            Ok(value) => {
                <DbConnection as TransactionManager<DbConnection>>::commit_transaction(self)?;
                Ok(value)
            }
            Err(user_error) => {
                match <DbConnection as TransactionManager<DbConnection>>::rollback_transaction(self)
                {
                    Ok(()) | Err(Error::BrokenTransactionManager) => Err(user_error),
                    Err(rollback_error) => Err(rollback_error.into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::TestDb;
    use diesel::connection::SimpleConnection;
    use diesel::Connection;

    /// A second writer waits for the first one's commit instead of failing at once.
    #[test]
    fn sqlite_writers_wait_for_each_other() {
        let db = TestDb::sqlite();
        let mut setup = crate::open(db.url()).unwrap();
        crate::systems::ensure_registered(&mut setup, "ERP").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let url = db.url().to_string();
        let holder = std::thread::spawn(move || {
            let mut c = crate::open(&url).unwrap();
            c.write_transaction(|c| {
                crate::systems::ensure_registered(c, "CRM")?;
                tx.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(300));
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
        });
        rx.recv().unwrap();
        let mut c = crate::open(db.url()).unwrap();
        // Reads first, then writes: deferred, this failed with "database is locked".
        let r = c.write_transaction(|c| {
            crate::systems::list(c)?;
            crate::systems::ensure_registered(c, "MES")?;
            Ok::<_, crate::StoreError>(())
        });
        holder.join().unwrap();
        r.unwrap();
        // Nested: a savepoint, as `transaction` makes.
        c.write_transaction(|c| {
            c.write_transaction(|c| c.batch_execute("SELECT 1"))?;
            c.transaction(|c| c.batch_execute("SELECT 1"))
        })
        .unwrap();
        assert_eq!(crate::systems::list(&mut c).unwrap().len(), 3);
    }
}
