//! Compiles the whole Conductor corpus in-process (goal: under 50 ms for all definitions).

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use ocflow_compiler::{CompileEnv, compile};
use ocflow_dsl::model::WorkflowDef;

fn load() -> Vec<WorkflowDef> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conductor-corpus");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("skipped: {} absent", dir.display());
        return Vec::new();
    };
    let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    let mut defs = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.ends_with(".json") || name.starts_with("aux-") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(document) = ocflow_dsl::parse_document(name, &text) else {
            continue;
        };
        defs.extend(document.workflows().into_iter().map(|(_, def)| def.clone()));
    }
    defs
}

fn corpus(c: &mut Criterion) {
    let defs = load();
    let mut env = CompileEnv::new();
    for def in &defs {
        env.add_workflow(def.clone());
    }
    c.bench_function("compile corpus", |b| {
        b.iter(|| defs.iter().filter(|def| compile(def, &env).is_ok()).count());
    });
}

criterion_group!(benches, corpus);
criterion_main!(benches);
