//! The JSON report's declared format: fixtures/report.schema.json is the JSON
//! Schema generated from the report types (so it cannot drift from them),
//! every recorded baseline and a fresh report validate against it, and it
//! rejects what is not a report.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use sockspec::report::json;

const SCHEMA: &str = "fixtures/report.schema.json";
/// Set to 1 to write the generated schema into fixtures/ (after a change to
/// the report types; review the diff and commit it).
const UPDATE: &str = "SOCKSPEC_UPDATE_SCHEMA";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&read_json(&root().join(SCHEMA))).expect("a valid JSON Schema")
}

/// The first few ways `doc` breaks the schema, each with where.
fn violations(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .take(5)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn committed_schema_is_the_generated_one() {
    let generated = json::schema();
    let path = root().join(SCHEMA);
    if std::env::var(UPDATE).as_deref() == Ok("1") {
        std::fs::write(&path, &generated).expect("write the schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        generated, committed,
        "{SCHEMA} differs from the report types; regenerate it with \
         {UPDATE}=1 cargo test --test schema and commit it"
    );
}

#[test]
fn every_recorded_baseline_validates() {
    let v = validator();
    let dir = root().join("fixtures/baselines");
    let mut baselines: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/baselines")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    baselines.sort();
    assert!(!baselines.is_empty(), "no baseline in {}", dir.display());
    for path in baselines {
        let doc = read_json(&path);
        assert_eq!(
            Vec::<String>::new(),
            violations(&v, &doc),
            "{}",
            path.display()
        );
        let report =
            json::parse(&doc.to_string()).unwrap_or_else(|e| panic!("{} {e}", path.display()));
        assert!(
            report.format <= json::FORMAT,
            "{}: format {}",
            path.display(),
            report.format
        );
    }
}

#[test]
fn a_fresh_report_validates_and_declares_its_format() {
    // A passing case and a case that errors (no verdict, no observation).
    let o = Command::new(common::exe())
        .env("SOCKSPEC_SELFTEST", "1")
        .args([
            "run",
            "--format",
            "json",
            "waitall.fills_buffer",
            "selftest.panic",
        ])
        .output()
        .expect("run");
    let doc: Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    assert_eq!(Some(u64::from(json::FORMAT)), doc["format"].as_u64());
    assert_eq!(Vec::<String>::new(), violations(&validator(), &doc));
}

#[test]
fn the_schema_rejects_what_is_not_a_report() {
    let v = validator();
    let case = json!({
        "id": "a.case", "outcome": "pass", "verdict": "holds", "observed": {},
        "reason": "r", "duration_ms": 1, "key": "", "checks": [],
    });
    let report =
        |case: Value| json!({"format": 1, "kernel": "6.18", "sockspec": "0.1.0", "cases": [case]});
    assert!(
        v.is_valid(&report(case.clone())),
        "the sample itself is a report"
    );
    let mut broken = Vec::new();
    for (what, field, value) in [
        ("an unknown outcome", "outcome", json!("maybe")),
        ("a verdict that is not one", "verdict", json!("true")),
        ("a negative duration", "duration_ms", json!(-1)),
        ("checks that are not a list", "checks", json!({})),
        ("an unknown privilege", "privilege", json!("admin")),
    ] {
        let mut c = case.clone();
        c[field] = value;
        if v.is_valid(&report(c)) {
            broken.push(what);
        }
    }
    let mut no_id = case.clone();
    no_id.as_object_mut().expect("object").remove("id");
    if v.is_valid(&report(no_id)) {
        broken.push("a case without an id");
    }
    if v.is_valid(&json!({"format": 1, "kernel": "6.18", "sockspec": "0.1.0"})) {
        broken.push("a report without cases");
    }
    let mut newer = report(case);
    newer["format"] = json!(json::FORMAT + 1);
    if v.is_valid(&newer) {
        broken.push("a report of a newer format");
    }
    assert_eq!(Vec::<&str>::new(), broken, "the schema accepts these");
}
