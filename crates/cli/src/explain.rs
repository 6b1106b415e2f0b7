//! `keyset explain`: prints the plan of one SELECT (or `EXPLAIN SELECT`)
//! without running it. The plan text is the planner's own; this module adds
//! nothing to it.

use std::io::Write;
use std::process::ExitCode;

use keyset::{Db, Statement};

use crate::database;
use crate::error::CliError;
use crate::output::with_newline;
use crate::DbArg;

/// Arguments of `keyset explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The SELECT to plan.
    #[arg(value_name = "SELECT")]
    pub sql: String,
}

pub fn run(args: &ExplainArgs) -> Result<ExitCode, CliError> {
    let db = database::open(&args.db, database::Missing::Refuse)?;
    let plan = plan_text(&db, &args.sql)?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", with_newline(&plan))?;
    out.flush()?;
    db.close()?;
    Ok(ExitCode::SUCCESS)
}

/// The plan of a SELECT (or `EXPLAIN SELECT`) as text; any other statement
/// is a usage error that says what was given (only a query has a plan).
pub fn plan_text(db: &Db, sql: &str) -> Result<String, CliError> {
    let statement = keyset_sql::parse_one(sql).map_err(keyset::Error::from)?;
    let given = match statement {
        Statement::Select(_) | Statement::Explain(_) => return Ok(db.explain(sql)?),
        Statement::CreateTable(_) => "CREATE TABLE",
        Statement::CreateIndex(_) => "CREATE INDEX",
        Statement::DropTable { .. } => "DROP TABLE",
        Statement::DropIndex { .. } => "DROP INDEX",
        Statement::Insert { .. } => "INSERT",
        Statement::Update { .. } => "UPDATE",
        Statement::Delete { .. } => "DELETE",
    };
    Err(CliError::Usage(format!(
        "only a SELECT has a plan to explain, and this statement is {given}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_select_is_explained_and_the_refusal_names_what_was_given() {
        let db = Db::memory().expect("memory db");
        db.execute("CREATE TABLE t (id INT PRIMARY KEY)")
            .expect("create");
        assert!(plan_text(&db, "SELECT * FROM t")
            .expect("plan")
            .contains("Query t"));
        let err = plan_text(&db, "INSERT INTO t VALUES (1)").expect_err("refused");
        assert_eq!(
            err.to_string(),
            "only a SELECT has a plan to explain, and this statement is INSERT"
        );
        assert!(!err.to_string().contains("explain()"), "{err}");
    }
}
