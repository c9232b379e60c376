//! CSV import of identities: every bad row is reported with its line and reason, and a file
//! with errors imports nothing unless the caller chose to import only the good rows.

use std::collections::{HashMap, HashSet};

use app::error::AppError;
use app::model::{IdentityInput, IdentityKind, ImportMode, ImportReport, ImportRowError, Role};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::actor::Actor;
use super::audit::{self, Entry};
use super::identities::{IdentityFields, parse_input};
use crate::error::Result;

/// Most data rows accepted in one file.
pub const MAX_ROWS: usize = 100_000;

/// Columns a file may have; `kind` and `name` are required.
pub const COLUMNS: &[&str] = &[
    "kind",
    "name",
    "owner",
    "environment",
    "criticality",
    "description",
    "external_id",
    "attributes",
    "last_used_at",
];

/// One row that passed its own checks.
#[derive(Debug)]
struct Row {
    line: u64,
    id: Uuid,
    fields: IdentityFields,
    owner: Option<String>,
    last_used_at: Option<DateTime<Utc>>,
}

/// Imports identities from CSV `text`; only admins may.
pub async fn import(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    text: &str,
    mode: ImportMode,
) -> Result<ImportReport> {
    let result = import_checked(pool, actor, now, text, mode).await;
    audit::refusals(
        pool,
        actor,
        now,
        "identities.import",
        "identity",
        "csv",
        result,
    )
    .await
}

async fn import_checked(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    text: &str,
    mode: ImportMode,
) -> Result<ImportReport> {
    actor.require(Role::Admin)?;
    let (mut rows, mut errors) = parse(text)?;
    let total = (rows.len() + errors.len()) as u64;
    resolve_owners(pool, &mut rows, &mut errors).await?;
    reject_existing_external_ids(pool, &mut rows, &mut errors).await?;
    reject_rows_owned_by_rejected_rows(&rows, &mut errors);
    errors.sort_by_key(|error| error.line);

    let bad_lines: HashSet<u64> = errors.iter().map(|error| error.line).collect();
    rows.retain(|row| !bad_lines.contains(&row.line));
    if mode == ImportMode::AllOrNothing && !errors.is_empty() {
        let entry = Entry::refused(
            "identities.import",
            "identity",
            "csv",
            format!(
                "{} of {total} rows have errors, so nothing was imported",
                bad_lines.len()
            ),
        )
        .details(json!({
            "mode": mode,
            "rows": total,
            "rejected_lines": errors.iter().map(|error| error.line).collect::<Vec<_>>(),
        }));
        audit::append_alone(pool, actor, now, entry).await;
        return Ok(ImportReport {
            mode,
            rows: total,
            imported: 0,
            errors,
        });
    }

    let imported = rows.len() as u64;
    let mut tx = pool.begin().await?;
    // Humans go first so that rows owned by a human from the same file find their owner.
    let (humans, others): (Vec<Row>, Vec<Row>) = rows
        .into_iter()
        .partition(|row| row.fields.kind == IdentityKind::Human);
    insert_rows(&mut tx, &humans, now).await?;
    insert_rows(&mut tx, &others, now).await?;
    let created: Vec<Entry> = humans
        .iter()
        .chain(others.iter())
        .map(|row| {
            Entry::success("identity.created", "identity", row.id).details(json!({
                "kind": row.fields.kind,
                "name": row.fields.name,
                "owner_id": row.fields.owner_id,
                "environment": row.fields.environment,
                "import_line": row.line,
            }))
        })
        .collect();
    audit::append_many(&mut tx, actor, now, created).await?;
    audit::append(
        &mut tx,
        actor,
        now,
        Entry::success("identities.imported", "identity", "csv").details(json!({
            "mode": mode,
            "rows": total,
            "imported": imported,
            "rejected_lines": errors.iter().map(|error| error.line).collect::<Vec<_>>(),
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(ImportReport {
        mode,
        rows: total,
        imported,
        errors,
    })
}

/// Parses the file into rows that pass their own checks and errors for those that do not.
fn parse(text: &str) -> Result<(Vec<Row>, Vec<ImportRowError>), AppError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| AppError::invalid("csv", format!("cannot read the header line: {error}")))?
        .clone();
    let columns: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    for column in &columns {
        if !COLUMNS.contains(&column.as_str()) {
            return Err(AppError::invalid(
                "csv",
                format!(
                    "line 1: unknown column {column:?}; the columns are {}",
                    COLUMNS.join(", ")
                ),
            ));
        }
    }
    for required in ["kind", "name"] {
        if !columns.iter().any(|column| column == required) {
            return Err(AppError::invalid(
                "csv",
                format!("line 1: the header has no {required:?} column"),
            ));
        }
    }

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut external_ids: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map(|p| p.line()).unwrap_or(0);
                errors.push(row_error(
                    line,
                    None,
                    format!("cannot read this row: {error}"),
                ));
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if rows.len() + errors.len() >= MAX_ROWS {
            return Err(AppError::invalid(
                "csv",
                format!("the file has more than {MAX_ROWS} rows; split it into smaller files"),
            ));
        }
        let cell = |name: &str| -> String {
            columns
                .iter()
                .position(|column| column == name)
                .and_then(|index| record.get(index))
                .unwrap_or("")
                .to_owned()
        };
        let input = IdentityInput {
            kind: cell("kind"),
            name: cell("name"),
            owner_id: String::new(),
            environment: cell("environment"),
            criticality: cell("criticality"),
            description: cell("description"),
            external_id: cell("external_id"),
            attributes: cell("attributes"),
        };
        let fields = match parse_input(&input) {
            Ok(fields) => fields,
            Err(error) => {
                errors.push(from_app_error(line, error));
                continue;
            }
        };
        let last_used_at = match cell("last_used_at").as_str() {
            "" => None,
            text => match DateTime::parse_from_rfc3339(text) {
                Ok(at) => Some(at.with_timezone(&Utc)),
                Err(_) => {
                    errors.push(row_error(
                        line,
                        Some("last_used_at"),
                        "must be an RFC 3339 time such as 2026-11-30T09:00:00Z".into(),
                    ));
                    continue;
                }
            },
        };
        if let Some(external_id) = &fields.external_id
            && let Some(first) = external_ids.insert(external_id.clone(), line)
        {
            errors.push(row_error(
                line,
                Some("external_id"),
                format!("repeats the external id on line {first}"),
            ));
            continue;
        }
        let owner = Some(cell("owner")).filter(|owner| !owner.is_empty());
        rows.push(Row {
            line,
            id: Uuid::new_v4(),
            fields,
            owner,
            last_used_at,
        });
    }
    Ok((rows, errors))
}

/// Sets each row's owner from its `owner` cell: the external id or exact name of a human
/// identity, either already stored or a human row of the same file.
async fn resolve_owners(
    pool: &PgPool,
    rows: &mut [Row],
    errors: &mut Vec<ImportRowError>,
) -> Result<()> {
    let wanted: Vec<String> = rows.iter().filter_map(|row| row.owner.clone()).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let stored = sqlx::query!(
        r#"
        select id, name, external_id, kind as "kind: IdentityKind"
        from identities
        where name = any($1) or external_id = any($1)
        "#,
        &wanted
    )
    .fetch_all(pool)
    .await?;

    // Each key maps to the candidates it names: (id, is human, line in the file if any).
    let mut candidates: HashMap<String, Vec<(Uuid, bool, Option<u64>)>> = HashMap::new();
    for identity in &stored {
        let human = identity.kind == IdentityKind::Human;
        candidates
            .entry(identity.name.clone())
            .or_default()
            .push((identity.id, human, None));
        if let Some(external_id) = &identity.external_id {
            candidates
                .entry(external_id.clone())
                .or_default()
                .push((identity.id, human, None));
        }
    }
    for row in rows.iter() {
        let human = row.fields.kind == IdentityKind::Human;
        candidates
            .entry(row.fields.name.clone())
            .or_default()
            .push((row.id, human, Some(row.line)));
        if let Some(external_id) = &row.fields.external_id {
            candidates.entry(external_id.clone()).or_default().push((
                row.id,
                human,
                Some(row.line),
            ));
        }
    }

    for row in rows.iter_mut() {
        let Some(owner) = row.owner.clone() else {
            continue;
        };
        let mut found: Vec<(Uuid, bool, Option<u64>)> =
            candidates.get(&owner).cloned().unwrap_or_default();
        found.dedup_by_key(|candidate| candidate.0);
        let humans: Vec<_> = found.iter().filter(|candidate| candidate.1).collect();
        match (humans.as_slice(), found.is_empty()) {
            ([only], _) => {
                if only.0 == row.id {
                    errors.push(row_error(
                        row.line,
                        Some("owner"),
                        "an identity cannot own itself".into(),
                    ));
                } else {
                    row.fields.owner_id = Some(only.0);
                }
            }
            ([], true) => errors.push(row_error(
                row.line,
                Some("owner"),
                format!("no human identity has the name or external id {owner:?}"),
            )),
            ([], false) => errors.push(row_error(
                row.line,
                Some("owner"),
                format!("{owner:?} is not a human identity; owners must be people"),
            )),
            _ => errors.push(row_error(
                row.line,
                Some("owner"),
                format!("several human identities match {owner:?}; use the owner's external id"),
            )),
        }
    }

    Ok(())
}

/// Rejects each row whose owner is a row of the file that was rejected, following chains of
/// owners until no new row is rejected.
fn reject_rows_owned_by_rejected_rows(rows: &[Row], errors: &mut Vec<ImportRowError>) {
    let line_of: HashMap<Uuid, u64> = rows.iter().map(|row| (row.id, row.line)).collect();
    let mut bad_lines: HashSet<u64> = errors.iter().map(|error| error.line).collect();
    loop {
        let mut added = false;
        for row in rows {
            if bad_lines.contains(&row.line) {
                continue;
            }
            let owner_line = row
                .fields
                .owner_id
                .and_then(|owner| line_of.get(&owner))
                .copied();
            if let Some(owner_line) = owner_line.filter(|line| bad_lines.contains(line)) {
                errors.push(row_error(
                    row.line,
                    Some("owner"),
                    format!("its owner is the row on line {owner_line}, which has errors"),
                ));
                bad_lines.insert(row.line);
                added = true;
            }
        }
        if !added {
            return;
        }
    }
}

async fn reject_existing_external_ids(
    pool: &PgPool,
    rows: &mut [Row],
    errors: &mut Vec<ImportRowError>,
) -> Result<()> {
    let external_ids: Vec<String> = rows
        .iter()
        .filter_map(|row| row.fields.external_id.clone())
        .collect();
    if external_ids.is_empty() {
        return Ok(());
    }
    let taken: HashSet<String> = sqlx::query_scalar!(
        r#"select external_id as "external_id!" from identities where external_id = any($1)"#,
        &external_ids
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    for row in rows.iter() {
        if let Some(external_id) = &row.fields.external_id
            && taken.contains(external_id)
        {
            errors.push(row_error(
                row.line,
                Some("external_id"),
                format!("an identity with external id {external_id:?} already exists"),
            ));
        }
    }
    Ok(())
}

async fn insert_rows(tx: &mut sqlx::PgConnection, rows: &[Row], now: DateTime<Utc>) -> Result<()> {
    for chunk in rows.chunks(5_000) {
        let ids: Vec<Uuid> = chunk.iter().map(|row| row.id).collect();
        let kinds: Vec<String> = chunk
            .iter()
            .map(|row| row.fields.kind.to_string())
            .collect();
        let names: Vec<String> = chunk.iter().map(|row| row.fields.name.clone()).collect();
        let owners: Vec<Option<Uuid>> = chunk.iter().map(|row| row.fields.owner_id).collect();
        let environments: Vec<String> = chunk
            .iter()
            .map(|row| row.fields.environment.clone())
            .collect();
        let criticalities: Vec<String> = chunk
            .iter()
            .map(|row| row.fields.criticality.to_string())
            .collect();
        let descriptions: Vec<String> = chunk
            .iter()
            .map(|row| row.fields.description.clone())
            .collect();
        let external_ids: Vec<Option<String>> = chunk
            .iter()
            .map(|row| row.fields.external_id.clone())
            .collect();
        let attributes: Vec<Value> = chunk
            .iter()
            .map(|row| row.fields.attributes.clone())
            .collect();
        let last_used: Vec<Option<DateTime<Utc>>> =
            chunk.iter().map(|row| row.last_used_at).collect();
        sqlx::query!(
            r#"
            insert into identities (id, kind, name, owner_id, environment, criticality,
                description, external_id, attributes, last_used_at, created_at, updated_at)
            select id, kind, name, owner_id, environment, criticality, description, external_id,
                attributes, last_used_at, $11, $11
            from unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[],
                $7::text[], $8::text[], $9::jsonb[], $10::timestamptz[])
                as t(id, kind, name, owner_id, environment, criticality, description,
                    external_id, attributes, last_used_at)
            "#,
            &ids,
            &kinds,
            &names,
            &owners as &[Option<Uuid>],
            &environments,
            &criticalities,
            &descriptions,
            &external_ids as &[Option<String>],
            &attributes,
            &last_used as &[Option<DateTime<Utc>>],
            now,
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

fn row_error(line: u64, column: Option<&str>, message: String) -> ImportRowError {
    ImportRowError {
        line,
        column: column.map(str::to_owned),
        message,
    }
}

fn from_app_error(line: u64, error: AppError) -> ImportRowError {
    match error {
        AppError::Invalid { field, message } => row_error(line, Some(&field), message),
        other => row_error(line, None, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reports_line_and_column() {
        let text =
            "kind,name,environment\nservice_account,exporter,prod\nrobot,x,prod\nhuman,,prod\n";
        let (rows, errors) = parse(text).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            errors,
            vec![
                row_error(
                    3,
                    Some("kind"),
                    "must be one of human, service_account, api_key, workload, ai_agent".into()
                ),
                row_error(4, Some("name"), "is required".into()),
            ]
        );
    }

    #[test]
    fn parse_rejects_unknown_column() {
        let error = parse("kind,name,colour\n").unwrap_err();
        assert_eq!(error.field(), Some("csv"));
        assert!(error.to_string().contains("colour"), "{error}");
    }

    #[test]
    fn parse_flags_repeated_external_id() {
        let text = "kind,name,external_id\nworkload,a,x-1\nworkload,b,x-1\n";
        let (_, errors) = parse(text).unwrap();
        assert_eq!(errors[0].line, 3);
        assert_eq!(errors[0].column.as_deref(), Some("external_id"));
    }
}
