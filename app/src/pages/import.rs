//! CSV import of identities: the column guide, the paste form and the import report.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::inventory::ImportIdentities;
use crate::components::common::{ActionError, Empty};
use crate::components::kept::LatestResult;
use crate::model::{Criticality, IdentityKind, ImportMode, ImportReport};

/// The columns a file may have, with what each holds. The server's import accepts its own copy
/// of this list, because `app` cannot depend on `server`.
// NOTE: nothing checks yet that the two lists match. A server test comparing them would.
pub const COLUMNS: &[(&str, &str)] = &[
    ("kind", "Required. One of the kinds listed below."),
    ("name", "Required. Up to 200 characters."),
    (
        "owner",
        "The external id or exact name of a human identity, either stored already or a human \
         row of the same file.",
    ),
    (
        "environment",
        "Such as prod or staging; stored in lower case.",
    ),
    (
        "criticality",
        "low, medium, high or critical; medium when empty.",
    ),
    ("description", "Free text, up to 2000 characters."),
    ("external_id", "Unique across the inventory and the file."),
    (
        "attributes",
        "A JSON object, such as {\"team\": \"payments\"}.",
    ),
    (
        "last_used_at",
        "An RFC 3339 time such as 2026-11-30T09:00:00Z.",
    ),
];

const EXAMPLE: &str = "\
kind,name,owner,environment,criticality,external_id,attributes
human,Ada Lovelace,,,,ada@example.com,
service_account,billing-exporter,ada@example.com,prod,high,sa-billing,\"{\"\"team\"\": \"\"payments\"\"}\"
api_key,stripe-webhook,Ada Lovelace,prod,critical,,
";

/// Imports identities from pasted CSV and shows the report.
#[component]
pub fn ImportPage() -> impl IntoView {
    let import = ServerAction::<ImportIdentities>::new();
    let kinds = IdentityKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let criticalities = Criticality::ALL
        .iter()
        .map(|level| level.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <Title text="Import identities"/>
        <h1>"Import identities"</h1>
        <p>
            "Paste a CSV file with a header line. Each row adds one identity to the inventory. "
            "Columns may come in any order, and only " <code>"kind"</code> " and "
            <code>"name"</code> " are required."
        </p>
        <ActionError value=import.value()/>
        <LatestResult action=import key="import_report" render=|report| view! { <Report report/> }/>
        <ActionForm action=import attr:class="form">
            <label>
                "CSV"
                <textarea name="csv" rows="12" required class="code" spellcheck="false"
                    placeholder=EXAMPLE></textarea>
            </label>
            <fieldset>
                <legend>"If some rows have errors"</legend>
                <label class="check">
                    <input type="radio" name="mode" value="all_or_nothing" checked/>
                    "Import nothing if any row has errors"
                </label>
                <label class="check">
                    <input type="radio" name="mode" value="good_rows_only"/>
                    "Import the good rows and list the bad ones"
                </label>
            </fieldset>
            <button type="submit">"Import"</button>
        </ActionForm>
        <section>
            <h2>"Columns"</h2>
            <table class="list">
                <thead>
                    <tr><th>"Column"</th><th>"What it holds"</th></tr>
                </thead>
                <tbody>
                    {COLUMNS.iter().map(|(name, meaning)| view! {
                        <tr><td><code>{*name}</code></td><td>{*meaning}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <p class="hint">"Kinds: " <code>{kinds}</code> ". Criticality levels: " <code>{criticalities}</code> "."</p>
            <h3>"Example"</h3>
            <pre class="code">{EXAMPLE}</pre>
        </section>
    }
}

/// Shows the outcome of one import: counts, and a table of the rows that failed.
#[component]
fn Report(report: ImportReport) -> impl IntoView {
    let summary = summary(&report);
    let class = if report.errors.is_empty() {
        "notice"
    } else {
        "warning"
    };
    view! {
        <section class="import-report">
            <h2>"Import report"</h2>
            <p class=class role="status">{summary}</p>
            {if report.errors.is_empty() {
                view! { <Empty text="Every row was valid."/> }.into_any()
            } else {
                view! {
                    <table class="list">
                        <thead>
                            <tr><th>"Line"</th><th>"Column"</th><th>"Error"</th></tr>
                        </thead>
                        <tbody>
                            {report.errors.into_iter().map(|error| view! {
                                <tr>
                                    <td>{error.line}</td>
                                    <td>{error.column.unwrap_or_else(|| "—".to_owned())}</td>
                                    <td>{error.message}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </section>
    }
}

/// Sums up in one sentence what the import did.
fn summary(report: &ImportReport) -> String {
    let bad = report.errors.len();
    let rows = plural(report.rows, "row", "rows");
    if report.rows == 0 {
        return "The file has no rows below its header line, so nothing was imported.".to_owned();
    }
    if bad == 0 {
        return format!("Imported all {rows}.");
    }
    let errors = plural(bad as u64, "error", "errors");
    match report.mode {
        ImportMode::GoodRowsOnly if report.imported == 0 => format!(
            "Nothing was imported: no row is valid ({errors} in {rows}). Fix the rows listed \
             below and import the file again."
        ),
        ImportMode::AllOrNothing => format!(
            "Nothing was imported: the file has {rows} and {errors}. Fix the rows listed below \
             and import the whole file again, or choose to import only the good rows."
        ),
        ImportMode::GoodRowsOnly => format!(
            "Imported {} of {rows}. The rows listed below were skipped; fix them and import \
             only those rows again.",
            report.imported
        ),
    }
}

fn plural(count: u64, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("1 {singular}")
    } else {
        format!("{count} {plural}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ImportRowError;

    fn report(mode: ImportMode, rows: u64, imported: u64, errors: usize) -> ImportReport {
        let error = ImportRowError {
            line: 3,
            column: Some("kind".into()),
            message: "must be one of human, service_account".into(),
        };
        ImportReport {
            mode,
            rows,
            imported,
            errors: vec![error; errors],
        }
    }

    #[test]
    fn summary_of_clean_import() {
        let text = summary(&report(ImportMode::AllOrNothing, 2, 2, 0));
        assert_eq!(text, "Imported all 2 rows.");
    }

    #[test]
    fn summary_says_nothing_was_imported() {
        let text = summary(&report(ImportMode::AllOrNothing, 5, 0, 1));
        assert!(
            text.starts_with("Nothing was imported: the file has 5 rows and 1 error."),
            "{text}"
        );
    }

    #[test]
    fn summary_says_no_good_rows() {
        let text = summary(&report(ImportMode::GoodRowsOnly, 2, 0, 2));
        assert!(
            text.starts_with("Nothing was imported: no row is valid (2 errors in 2 rows)."),
            "{text}"
        );
    }

    #[test]
    fn summary_counts_good_rows() {
        let text = summary(&report(ImportMode::GoodRowsOnly, 5, 3, 2));
        assert!(text.starts_with("Imported 3 of 5 rows."), "{text}");
    }
}
