//! The policies page: the active Cedar policy version, the draft editor, the version history and
//! the schema. Also the parts that the version page shares.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::current_viewer;
use crate::api::decisions::{
    ACTIVATED_KEY, ActivatePolicy, REJECTED_DRAFT_KEY, RejectedDraft, SavePolicyDraft,
    policy_overview,
};
use crate::api::flash::take_kept_result;
use crate::components::common::{
    ActionError, Badge, Empty, ErrorBox, failed, loading, textarea_text,
};
use crate::components::kept::LatestResult;
use crate::error::AppError;
use crate::format;
use crate::model::{PolicyOverview, PolicyRule, PolicyVersion, Role};

/// Shows the active policy version and its history. Admins save drafts and activate versions.
#[component]
pub fn PoliciesPage() -> impl IntoView {
    let activate = ServerAction::<ActivatePolicy>::new();
    let save = ServerAction::<SavePolicyDraft>::new();
    // A successful save opens the new version's page, so only activation changes this page.
    let data = Resource::new(
        move || activate.version().get(),
        |_| async move {
            let overview = policy_overview().await?;
            let admin = current_viewer()
                .await?
                .is_some_and(|viewer| viewer.has(Role::Admin));
            let draft = take_kept_result(REJECTED_DRAFT_KEY.to_owned())
                .await?
                .and_then(|json| serde_json::from_str::<RejectedDraft>(&json).ok());
            Ok::<_, AppError>((overview, admin, draft))
        },
    );
    view! {
        <Title text="Policies"/>
        <h1>"Policies"</h1>
        <ActivatedNotice activate/>
        <ActionError value=activate.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((overview, admin, draft)) => {
                        view! { <Overview overview admin draft activate save/> }.into_any()
                    }
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Overview(
    overview: PolicyOverview,
    admin: bool,
    draft: Option<RejectedDraft>,
    activate: ServerAction<ActivatePolicy>,
    save: ServerAction<SavePolicyDraft>,
) -> impl IntoView {
    let active_number = overview.active.number;
    let draft = draft.unwrap_or_else(|| RejectedDraft {
        source: overview.source.clone(),
        reason: String::new(),
    });
    view! {
        <section>
            <h2>{format!("Active version {}", overview.active.number)}</h2>
            <VersionFacts version=overview.active/>
            <h3>"Rules"</h3>
            <RuleTable rules=overview.rules/>
            <h3>"Source"</h3>
            <pre class="policy-source">{overview.source}</pre>
        </section>
        {admin.then(|| view! { <DraftEditor draft save/> })}
        <section>
            <h2>"Versions"</h2>
            <VersionTable versions=overview.versions active_number admin activate/>
        </section>
        <details class="schema">
            <summary>"Cedar schema"</summary>
            <p class="hint">"Every saved version is validated against this schema."</p>
            <pre class="policy-source">{overview.schema}</pre>
        </details>
    }
}

/// Renders the editor that saves Cedar source as a new, inactive version.
#[component]
fn DraftEditor(draft: RejectedDraft, save: ServerAction<SavePolicyDraft>) -> impl IntoView {
    view! {
        <section>
            <h2>"New version"</h2>
            <p class="hint">
                "Saving stores the source as a new version without activating it. The new version's "
                "page shows its changes from the active version, replays recorded decisions against "
                "it and activates it."
            </p>
            <ActionForm action=save attr:class="form wide">
                <label>
                    "Cedar source"
                    <textarea name="source" rows="24" required class="code" spellcheck="false">{textarea_text(&draft.source)}</textarea>
                    <small>
                        "Each rule needs a unique " <code>"@id"</code> " and a " <code>"@description"</code>
                        ". The source is validated against the Cedar schema at the foot of this page."
                    </small>
                </label>
                <DraftProblems save/>
                <label>
                    "Reason"
                    <input type="text" name="reason" required maxlength="2000" value=draft.reason
                        placeholder="such as Deny production writes outside grants"/>
                    <small>"Recorded with the version and in the audit log."</small>
                </label>
                <div class="buttons">
                    <button type="submit">"Save"</button>
                </div>
            </ActionForm>
        </section>
    }
}

/// Lists the problems of a draft that failed validation, one per line of the error, or shows
/// any other error of the save.
#[component]
fn DraftProblems(save: ServerAction<SavePolicyDraft>) -> impl IntoView {
    move || match save.value().get() {
        Some(Err(AppError::Invalid { field, message })) if field == "source" => Some(
            view! {
                <div class="error" role="alert">
                    <p>"The version was not saved because the source has problems:"</p>
                    <ul class="problems">
                        {problem_lines(&message)
                            .into_iter()
                            .map(|problem| view! { <li>{problem}</li> })
                            .collect_view()}
                    </ul>
                </div>
            }
            .into_any(),
        ),
        Some(Err(error)) => Some(view! { <ErrorBox error/> }.into_any()),
        _ => None,
    }
}

/// Shows which version a form just activated.
#[component]
pub(crate) fn ActivatedNotice(activate: ServerAction<ActivatePolicy>) -> impl IntoView {
    view! {
        <LatestResult action=activate key=ACTIVATED_KEY render=|version: PolicyVersion| view! {
            <p class="notice" role="status">{format!("Version {} is now active.", version.number)}</p>
        }/>
    }
}

/// Renders the metadata of one policy version.
#[component]
pub(crate) fn VersionFacts(version: PolicyVersion) -> impl IntoView {
    view! {
        <dl class="facts">
            <dt>"Version"</dt>
            <dd>
                {version.number} " "
                {version.active.then(|| view! { <Badge kind="active" text="Active"/> })}
            </dd>
            <dt>"Hash"</dt><dd><code>{version.hash}</code></dd>
            <dt>"Author"</dt><dd>{version.author}</dd>
            <dt>"Reason"</dt><dd class="reason">{or_dash(&version.reason)}</dd>
            <dt>"Saved"</dt><dd>{format::time(version.created_at)}</dd>
            <dt>"Active since"</dt>
            <dd>{version.activated_at.map_or_else(|| "Not active".to_owned(), format::time)}</dd>
        </dl>
    }
}

/// Renders a table of Cedar rules with their effects and descriptions.
#[component]
pub(crate) fn RuleTable(rules: Vec<PolicyRule>) -> impl IntoView {
    if rules.is_empty() {
        return view! { <Empty text="No rules."/> }.into_any();
    }
    view! {
        <table class="list rules">
            <thead>
                <tr>
                    <th>"Rule"</th>
                    <th>"Effect"</th>
                    <th>"Description"</th>
                </tr>
            </thead>
            <tbody>
                {rules
                    .into_iter()
                    .map(|rule| view! {
                        <tr>
                            <td><code>{rule.id}</code></td>
                            <td><Badge kind=rule.effect.clone() text=rule.effect/></td>
                            <td class="reason">{rule.description}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Renders the form that activates a version. For a version older than the active one this is
/// the rollback, and the button is labelled as one.
#[component]
pub(crate) fn ActivateForm(
    version: PolicyVersion,
    active_number: i32,
    activate: ServerAction<ActivatePolicy>,
) -> impl IntoView {
    let label = activate_label(version.number, active_number);
    view! {
        <ActionForm action=activate attr:class="inline-form">
            <input type="hidden" name="id" value=version.id.to_string()/>
            <input type="text" name="reason" required maxlength="2000" placeholder="Reason"
                aria-label="Reason for activating"/>
            <button type="submit" class="secondary">{label}</button>
        </ActionForm>
    }
}

#[component]
fn VersionTable(
    versions: Vec<PolicyVersion>,
    active_number: i32,
    admin: bool,
    activate: ServerAction<ActivatePolicy>,
) -> impl IntoView {
    if versions.is_empty() {
        return view! { <Empty text="No versions saved yet."/> }.into_any();
    }
    view! {
        <table class="list versions">
            <thead>
                <tr>
                    <th>"Version"</th>
                    <th>"Hash"</th>
                    <th>"Author"</th>
                    <th>"Reason"</th>
                    <th>"Saved"</th>
                    <th>"Active since"</th>
                    {admin.then(|| view! { <th></th> })}
                </tr>
            </thead>
            <tbody>
                {versions
                    .into_iter()
                    .map(|version| {
                        let href = format!("/policies/{}", version.id);
                        let short_hash = short_hash(&version.hash);
                        let action = (admin && !version.active).then(|| view! {
                            <ActivateForm version=version.clone() active_number activate/>
                        });
                        view! {
                            <tr>
                                <td class="nowrap">
                                    <a href=href>{format!("Version {}", version.number)}</a> " "
                                    {version.active.then(|| view! { <Badge kind="active" text="Active"/> })}
                                </td>
                                <td><code title=version.hash.clone()>{short_hash}</code></td>
                                <td>{version.author.clone()}</td>
                                <td class="reason">{version.reason.clone()}</td>
                                <td class="nowrap">{format::time(version.created_at)}</td>
                                <td class="nowrap">{format::maybe_time(version.activated_at)}</td>
                                {admin.then(|| view! { <td>{action}</td> })}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Returns the label of the button that activates version `number`.
pub(crate) fn activate_label(number: i32, active_number: i32) -> String {
    if number < active_number {
        format!("Roll back to version {number}")
    } else {
        format!("Activate version {number}")
    }
}

/// Returns the problems listed in a validation error, one per non-empty line.
fn problem_lines(message: &str) -> Vec<String> {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Returns the first 12 characters of a hash, enough to tell versions apart on screen.
fn short_hash(hash: &str) -> String {
    hash.chars().take(12).collect()
}

/// Returns the text, or a dash when it is blank.
pub(crate) fn or_dash(text: &str) -> String {
    if text.trim().is_empty() {
        "—".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_version_is_a_rollback() {
        assert_eq!(activate_label(3, 5), "Roll back to version 3");
        assert_eq!(activate_label(6, 5), "Activate version 6");
    }

    #[test]
    fn problems_are_one_per_line() {
        let message = "line 3, column 1: unexpected token\n\nline 9, column 14: unknown action\n";
        assert_eq!(
            problem_lines(message),
            vec![
                "line 3, column 1: unexpected token".to_owned(),
                "line 9, column 14: unknown action".to_owned(),
            ]
        );
    }

    #[test]
    fn short_hash_keeps_twelve_characters() {
        assert_eq!(short_hash("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_hash("abc"), "abc");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn draft_form_keeps_source_lines() {
        use crate::pages::resource_form::tests::decode_form;

        let body = "source=%40id%28%22a%22%29%0D%0Apermit+%28principal%2C+action%2C+resource%29%3B\
            &reason=Allow+everything";
        let decoded: SavePolicyDraft = decode_form(body).unwrap();
        assert_eq!(
            decoded.source,
            "@id(\"a\")\r\npermit (principal, action, resource);"
        );
        assert_eq!(decoded.reason, "Allow everything");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn activate_form_decodes() {
        use crate::pages::resource_form::tests::decode_form;

        let body = "id=6f1c2a94-5f4e-4d7b-9a51-0c1f2e3d4b5a&reason=Roll+back+the+outage";
        let decoded: ActivatePolicy = decode_form(body).unwrap();
        assert_eq!(
            decoded.id.to_string(),
            "6f1c2a94-5f4e-4d7b-9a51-0c1f2e3d4b5a"
        );
        assert_eq!(decoded.reason, "Roll back the outage");
    }
}
