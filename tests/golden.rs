//! File-driven planner tests: every `tests/sql/*.sql` and every `dataflows/*.sql`.
//!
//! A case whose first line is `-- error: <text>` must fail to plan with a message (error and
//! hint) containing `<text>`; any other case must plan, and its `explain` output must equal the
//! sibling `.plan` file (`UPDATE_GOLDEN=1` rewrites the `.plan` files).

use std::path::{Path, PathBuf};

fn sql_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

#[test]
fn sql_cases() {
    let files = sql_files("tests/sql");
    assert!(files.len() >= 10, "expected the planner cases in tests/sql");
    let mut failures = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected_error = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("-- error: "))
            .map(str::trim);
        assert_eq!(
            name.starts_with("error_"),
            expected_error.is_some(),
            "{name}: file name and `-- error:` header disagree"
        );
        let result = ddflow::plan::plan_text(&name, &text);
        match (expected_error, result) {
            (Some(want), Err(e)) => {
                let got = format!("{e}\nhint: {}", e.hint().unwrap_or(""));
                if !got.contains(want) {
                    failures.push(format!(
                        "{name}: expected error containing {want:?}, got {got:?}"
                    ));
                }
            }
            (Some(want), Ok(_)) => {
                failures.push(format!("{name}: expected error {want:?}, but it planned"))
            }
            (None, Err(e)) => failures.push(format!("{name}: did not plan: {e}")),
            (None, Ok(program)) => {
                let got = ddflow::plan::explain::explain(&program);
                let plan_path = path.with_extension("plan");
                if std::env::var_os("UPDATE_GOLDEN").is_some() {
                    std::fs::write(&plan_path, &got).unwrap();
                } else {
                    let want = std::fs::read_to_string(&plan_path).unwrap_or_default();
                    if got != want {
                        failures.push(format!(
                            "{name}: plan differs from {}:\n--- want\n{want}\n--- got\n{got}",
                            plan_path.display()
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_shipped_dataflow_plans() {
    for path in sql_files("dataflows")
        .into_iter()
        .chain(sql_files("dataflows/nexmark"))
    {
        if let Err(e) = ddflow::plan::plan_file(&path) {
            panic!("{}: {e}", path.display());
        }
    }
}

/// Every Nexmark query, q0 to q22, is shipped in Flink's text (differences in
/// `dataflows/nexmark/README.md`) and plans.
#[test]
fn nexmark_queries_that_run_are_shipped() {
    let names: Vec<String> = sql_files("dataflows/nexmark")
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for q in [
        "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q10", "q11", "q12", "q13",
        "q14", "q15", "q16", "q17", "q18", "q19", "q20", "q21", "q22",
    ] {
        assert!(
            names.iter().any(|n| n == q),
            "dataflows/nexmark/{q}.sql missing"
        );
    }
}
