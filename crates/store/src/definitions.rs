//! Machine definitions, stored once in `definitions` and shared by the executions that run
//! them (`executions.definition_id`), instead of a copy of a kilobyte or more in every
//! execution row.
//!
//! Executions of one registered machine share one [`Arc`] of its definition, so the store
//! remembers which of those it has stored already and writes nothing more for them; a
//! definition read back is parsed once and then shared too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use crate::Error;
use crate::codec::{conversion_error, json};

/// Definitions remembered at most; past it, the memory starts afresh (a store serves few
/// machines, but a long-lived one may see many versions of them).
const MAX_REMEMBERED: usize = 1024;

/// What this store knows of its stored definitions.
#[derive(Default)]
pub(crate) struct Definitions {
    memory: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    /// By the address of a shared definition: the definition (kept alive, so that the address
    /// names it as long as the entry lives) and its id.
    by_address: HashMap<usize, (Arc<Value>, i64)>,
    /// By id: the definition, as read or written.
    by_id: HashMap<i64, Arc<Value>>,
}

/// A definition to store with a write: known already, or its text to look up or insert.
pub(crate) enum DefinitionWrite {
    Known(i64),
    Text(String),
}

impl Definitions {
    fn memory(&self) -> MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a write must do for `definition`: nothing if it is stored already, else store its
    /// text (serialised here, before the writer is taken).
    pub(crate) fn prepare(&self, definition: &Arc<Value>) -> Result<DefinitionWrite, Error> {
        let address = Arc::as_ptr(definition) as usize;
        if let Some((_, id)) = self.memory().by_address.get(&address) {
            return Ok(DefinitionWrite::Known(*id));
        }
        Ok(DefinitionWrite::Text(json(
            &**definition,
            "execution definition",
        )?))
    }

    /// Remembers that `definition` is stored as `id`, once the write that stored it committed.
    pub(crate) fn remember(&self, definition: &Arc<Value>, id: i64) {
        let mut memory = self.memory();
        if memory.by_address.len() >= MAX_REMEMBERED || memory.by_id.len() >= MAX_REMEMBERED {
            *memory = Memory::default();
        }
        let address = Arc::as_ptr(definition) as usize;
        memory
            .by_address
            .insert(address, (Arc::clone(definition), id));
        memory
            .by_id
            .entry(id)
            .or_insert_with(|| Arc::clone(definition));
    }

    /// The definition stored as `id`, whose text is `body`: parsed on first sight, then shared.
    pub(crate) fn read(&self, id: i64, body: &str, column: usize) -> rusqlite::Result<Arc<Value>> {
        if let Some(definition) = self.memory().by_id.get(&id) {
            return Ok(Arc::clone(definition));
        }
        let definition: Value =
            serde_json::from_str(body).map_err(|e| conversion_error(column, e))?;
        let definition = Arc::new(definition);
        let mut memory = self.memory();
        if memory.by_id.len() >= MAX_REMEMBERED {
            memory.by_id.clear();
        }
        memory.by_id.insert(id, Arc::clone(&definition));
        Ok(definition)
    }
}

impl DefinitionWrite {
    /// The definition's id, storing its text first if no stored definition has the same.
    pub(crate) fn store(&self, tx: &Connection) -> Result<i64, Error> {
        let text = match self {
            DefinitionWrite::Known(id) => return Ok(*id),
            DefinitionWrite::Text(text) => text,
        };
        let found: Option<i64> = tx
            .prepare_cached("SELECT id FROM definitions WHERE body = ?1")?
            .query_row([text], |row| row.get(0))
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
        Ok(tx
            .prepare_cached("INSERT INTO definitions (body) VALUES (?1) RETURNING id")?
            .query_row([text], |row| row.get(0))?)
    }
}
