//! One policy version: its metadata, rules and source, its diff from the active version, the
//! Activate form and a what-if replay of recorded decisions.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::api::auth::current_viewer;
use crate::api::decisions::{
    ActivatePolicy, PolicyWhatIf, policy_overview, policy_version, what_if_key,
};
use crate::components::common::{ActionError, Badge, failed, loading};
use crate::components::kept::LatestResult;
use crate::error::AppError;
use crate::format;
use crate::model::{DiffKind, DiffLine, PolicyVersionDetail, Role, WhatIf, WhatIfChange};
use crate::pages::decisions::AllowBadge;
use crate::pages::policies::{ActivateForm, ActivatedNotice, RuleTable, VersionFacts};

/// Shows a policy version. Admins activate it here, which rolls back when it is older than the
/// active version.
#[component]
pub fn PolicyVersionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let activate = ServerAction::<ActivatePolicy>::new();
    let what_if = ServerAction::<PolicyWhatIf>::new();
    let data = Resource::new(
        move || (id(), activate.version().get()),
        |(id, _)| async move {
            let id = id.ok_or_else(|| AppError::not_found("no policy version has this id"))?;
            let detail = policy_version(id).await?;
            let active_number = policy_overview().await?.active.number;
            let admin = current_viewer()
                .await?
                .is_some_and(|viewer| viewer.has(Role::Admin));
            Ok::<_, AppError>((detail, active_number, admin))
        },
    );
    view! {
        <Title text="Policy version"/>
        <ActivatedNotice activate/>
        <ActionError value=activate.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((detail, active_number, admin)) => view! {
                        <Detail detail active_number admin activate what_if/>
                    }
                    .into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(
    detail: PolicyVersionDetail,
    active_number: i32,
    admin: bool,
    activate: ServerAction<ActivatePolicy>,
    what_if: ServerAction<PolicyWhatIf>,
) -> impl IntoView {
    let version = detail.version;
    let active = version.active;
    let activate_heading = if version.number < active_number {
        "Roll back"
    } else {
        "Activate"
    };
    let activate_form = (admin && !active).then(|| {
        view! {
            <section>
                <h2>{activate_heading}</h2>
                <ActivateForm version=version.clone() active_number activate/>
            </section>
        }
    });
    view! {
        <div class="page-head">
            <h1>
                {format!("Policy version {}", version.number)} " "
                {active.then(|| view! { <Badge kind="active" text="Active"/> })}
            </h1>
            <div class="actions"><a href="/policies">"All versions"</a></div>
        </div>
        <VersionFacts version=version.clone()/>
        <section>
            <h2>"Changes from the active version"</h2>
            {if active {
                view! { <p class="empty">"This is the active version."</p> }.into_any()
            } else if detail.diff.is_empty() {
                view! { <p class="empty">"The source is the same as the active version's."</p> }.into_any()
            } else {
                view! { <DiffTable lines=detail.diff/> }.into_any()
            }}
        </section>
        {activate_form}
        {(admin && !active).then(|| view! { <WhatIfSection id=version.id number=version.number what_if/> })}
        <section>
            <h2>"Rules"</h2>
            <RuleTable rules=detail.rules/>
        </section>
        <section>
            <h2>"Source"</h2>
            <pre class="policy-source">{detail.source}</pre>
        </section>
    }
}

/// Renders a line-by-line diff with line numbers on both sides.
#[component]
fn DiffTable(lines: Vec<DiffLine>) -> impl IntoView {
    view! {
        <table class="diff">
            <thead>
                <tr>
                    <th>"Active"</th>
                    <th>"This"</th>
                    <th></th>
                    <th>"Line"</th>
                </tr>
            </thead>
            <tbody>
                {lines
                    .into_iter()
                    .map(|line| {
                        let (class, marker) = diff_marker(line.kind);
                        view! {
                            <tr class=class>
                                <td class="line-no">{line.old_line}</td>
                                <td class="line-no">{line.new_line}</td>
                                <td class="marker">{marker}</td>
                                <td class="diff-text">{line.text}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// Renders the what-if form and its latest result.
#[component]
fn WhatIfSection(id: Uuid, number: i32, what_if: ServerAction<PolicyWhatIf>) -> impl IntoView {
    view! {
        <section>
            <h2>"What if"</h2>
            <p class="hint">
                "Replays the most recent recorded decisions against this version and against the "
                "active version, both with today's inventory and grants, and lists those whose "
                "outcome differs. The replay changes neither the policies nor the decision log."
            </p>
            <ActionError value=what_if.value()/>
            <ActionForm action=what_if attr:class="inline-form">
                <input type="hidden" name="id" value=id.to_string()/>
                <button type="submit" class="secondary">"Replay recorded decisions"</button>
            </ActionForm>
            <LatestResult action=what_if key=what_if_key(id)
                render=move |result| view! { <WhatIfResult result number/> }/>
        </section>
    }
}

#[component]
fn WhatIfResult(result: WhatIf, number: i32) -> impl IntoView {
    let summary = what_if_summary(result.replayed, result.changed.len());
    view! {
        <p class="notice" role="status">{summary}</p>
        {(!result.changed.is_empty()).then(|| view! { <ChangeTable changes=result.changed number/> })}
    }
}

#[component]
fn ChangeTable(changes: Vec<WhatIfChange>, number: i32) -> impl IntoView {
    view! {
        <table class="list what-if">
            <thead>
                <tr>
                    <th>"Time"</th>
                    <th>"Principal"</th>
                    <th>"Action"</th>
                    <th>"Resource"</th>
                    <th>"Recorded"</th>
                    <th>"Active version"</th>
                    <th>{format!("Version {number}")}</th>
                    <th>{format!("Policies of version {number}")}</th>
                </tr>
            </thead>
            <tbody>
                {changes
                    .into_iter()
                    .map(|change| {
                        let href = format!("/decisions/{}", change.decision_id);
                        let policies = if change.draft_policies.is_empty() {
                            "—".into_any()
                        } else {
                            view! { <code>{change.draft_policies.join(", ")}</code> }.into_any()
                        };
                        view! {
                            <tr>
                                <td class="nowrap"><a href=href>{format::time(change.decided_at)}</a></td>
                                <td><code>{change.principal}</code></td>
                                <td><code>{change.action}</code></td>
                                <td><code>{change.resource}</code></td>
                                <td><AllowBadge allow=change.recorded_allow/></td>
                                <td><AllowBadge allow=change.active_allow/></td>
                                <td><AllowBadge allow=change.draft_allow/></td>
                                <td>{policies}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// Returns the row class and the marker of a diff line.
fn diff_marker(kind: DiffKind) -> (&'static str, &'static str) {
    match kind {
        DiffKind::Same => ("diff-same", " "),
        DiffKind::Added => ("diff-added", "+"),
        DiffKind::Removed => ("diff-removed", "-"),
    }
}

/// Returns the sentence above the what-if table.
fn what_if_summary(replayed: u32, changed: usize) -> String {
    let decisions = if replayed == 1 {
        "decision"
    } else {
        "decisions"
    };
    let outcome = if changed == 0 {
        "None would change.".to_owned()
    } else {
        format!("{changed} would change.")
    };
    format!("Replayed {replayed} recorded {decisions}. {outcome}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_markers_match_kinds() {
        assert_eq!(diff_marker(DiffKind::Added), ("diff-added", "+"));
        assert_eq!(diff_marker(DiffKind::Removed), ("diff-removed", "-"));
        assert_eq!(diff_marker(DiffKind::Same), ("diff-same", " "));
    }

    #[test]
    fn what_if_summary_counts() {
        assert_eq!(
            what_if_summary(0, 0),
            "Replayed 0 recorded decisions. None would change."
        );
        assert_eq!(
            what_if_summary(1, 1),
            "Replayed 1 recorded decision. 1 would change."
        );
        assert_eq!(
            what_if_summary(250, 3),
            "Replayed 250 recorded decisions. 3 would change."
        );
    }
}
