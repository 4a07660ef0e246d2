//! Registered workflow and task definitions (Conductor's metadata), kept in the host's SQLite
//! file so that a restarted host compiles and registers them again.

use ocflow_compiler::CompileEnv;
use ocflow_dsl::model::{TaskDef, WorkflowDef};
use rusqlite::{OptionalExtension, params};

use crate::sidecar::{TableError, Tables};

/// Workflow definitions by name and version, and task definitions by name.
#[derive(Clone)]
pub struct Catalog {
    tables: Tables,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").finish_non_exhaustive()
    }
}

fn decode<T: serde::de::DeserializeOwned>(texts: Vec<String>) -> Vec<T> {
    texts
        .iter()
        .filter_map(|t| serde_json::from_str(t).ok())
        .collect()
}

impl Catalog {
    pub(crate) fn new(tables: Tables) -> Self {
        Catalog { tables }
    }

    /// Keeps a workflow definition under its name and version, replacing one kept there.
    pub fn put_workflow(&self, def: &WorkflowDef) -> Result<(), TableError> {
        let text = serde_json::to_string(def).unwrap_or_default();
        self.tables.lock().execute(
            "INSERT OR REPLACE INTO local_workflow_defs (name, version, definition) \
             VALUES (?1, ?2, ?3)",
            params![def.name, def.version(), text],
        )?;
        Ok(())
    }

    /// The workflow `name` at `version`, or its latest version.
    pub fn workflow(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<Option<WorkflowDef>, TableError> {
        let conn = self.tables.lock();
        let text: Option<String> = match version {
            Some(v) => conn
                .query_row(
                    "SELECT definition FROM local_workflow_defs WHERE name = ?1 AND version = ?2",
                    params![name, v],
                    |row| row.get(0),
                )
                .optional()?,
            None => conn
                .query_row(
                    "SELECT definition FROM local_workflow_defs WHERE name = ?1 \
                     ORDER BY version DESC LIMIT 1",
                    [name],
                    |row| row.get(0),
                )
                .optional()?,
        };
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Every version of every workflow, by name then version.
    pub fn workflows(&self) -> Result<Vec<WorkflowDef>, TableError> {
        let conn = self.tables.lock();
        let mut select = conn
            .prepare_cached("SELECT definition FROM local_workflow_defs ORDER BY name, version")?;
        let texts = select
            .query_map([], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(decode(texts))
    }

    /// Removes the workflow `name` at `version`; `false` if it was not kept.
    pub fn remove_workflow(&self, name: &str, version: i64) -> Result<bool, TableError> {
        let removed = self.tables.lock().execute(
            "DELETE FROM local_workflow_defs WHERE name = ?1 AND version = ?2",
            params![name, version],
        )?;
        Ok(removed > 0)
    }

    /// Keeps a task definition, replacing one of the same name.
    pub fn put_task_def(&self, def: &TaskDef) -> Result<(), TableError> {
        let text = serde_json::to_string(def).unwrap_or_default();
        self.tables.lock().execute(
            "INSERT OR REPLACE INTO local_task_defs (name, definition) VALUES (?1, ?2)",
            params![def.name, text],
        )?;
        Ok(())
    }

    /// The task definition `name`.
    pub fn task_def(&self, name: &str) -> Result<Option<TaskDef>, TableError> {
        let text: Option<String> = self
            .tables
            .lock()
            .query_row(
                "SELECT definition FROM local_task_defs WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Every task definition, by name.
    pub fn task_defs(&self) -> Result<Vec<TaskDef>, TableError> {
        let conn = self.tables.lock();
        let mut select =
            conn.prepare_cached("SELECT definition FROM local_task_defs ORDER BY name")?;
        let texts = select
            .query_map([], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(decode(texts))
    }

    /// Removes a task definition; `false` if there was none.
    pub fn remove_task_def(&self, name: &str) -> Result<bool, TableError> {
        let removed = self
            .tables
            .lock()
            .execute("DELETE FROM local_task_defs WHERE name = ?1", [name])?;
        Ok(removed > 0)
    }

    /// A compile environment holding everything kept here, plus `extra` (a base environment,
    /// such as `ocflow serve --defs`), which kept definitions override.
    pub fn compile_env(&self, extra: &CompileEnv) -> Result<CompileEnv, TableError> {
        let mut env = extra.clone();
        for def in self.task_defs()? {
            env.add_task_def(def);
        }
        for def in self.workflows()? {
            env.add_workflow(def);
        }
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn workflow(name: &str, version: i64) -> WorkflowDef {
        serde_json::from_value(json!({
            "name": name, "version": version, "schemaVersion": 2,
            "tasks": [{"name": "encode", "taskReferenceName": "enc", "type": "SIMPLE"}]
        }))
        .unwrap()
    }

    #[test]
    fn definitions_are_kept_by_name_and_version() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("host.db");
        let catalog = Catalog::new(Tables::open(Some(&db)).unwrap());
        catalog.put_workflow(&workflow("media", 1)).unwrap();
        catalog.put_workflow(&workflow("media", 2)).unwrap();
        let task: TaskDef =
            serde_json::from_value(json!({"name": "encode", "retryCount": 1})).unwrap();
        catalog.put_task_def(&task).unwrap();

        let reopened = Catalog::new(Tables::open(Some(&db)).unwrap());
        assert_eq!(
            reopened
                .workflow("media", None)
                .unwrap()
                .map(|d| d.version()),
            Some(2)
        );
        assert_eq!(
            reopened
                .workflow("media", Some(1))
                .unwrap()
                .map(|d| d.version()),
            Some(1)
        );
        assert_eq!(reopened.workflow("other", None).unwrap(), None);
        assert_eq!(reopened.workflows().unwrap().len(), 2);
        assert!(reopened.remove_workflow("media", 2).unwrap());
        assert!(!reopened.remove_workflow("media", 2).unwrap());
        assert_eq!(
            reopened
                .workflow("media", None)
                .unwrap()
                .map(|d| d.version()),
            Some(1)
        );
        reopened.put_workflow(&workflow("media", 2)).unwrap();
        assert_eq!(reopened.task_def("encode").unwrap(), Some(task));
        let env = reopened.compile_env(&CompileEnv::new()).unwrap();
        assert!(env.has_workflow("media"));
        assert!(env.task_defs().get("encode").is_some());
        assert!(reopened.remove_task_def("encode").unwrap());
        assert!(reopened.task_defs().unwrap().is_empty());
    }
}
