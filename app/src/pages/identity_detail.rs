//! One identity: every field, and the admin's edit and disable actions.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::api::auth::current_viewer;
use crate::api::inventory::{SetIdentityStatus, get_identity};
use crate::components::common::{ActionError, Badge, failed, loading};
use crate::error::AppError;
use crate::format;
use crate::model::{Identity, IdentityKind, IdentityStatus, Role, Viewer};

/// Shows an identity. Admins edit, disable and re-enable it here.
#[component]
pub fn IdentityPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let set_status = ServerAction::<SetIdentityStatus>::new();
    let data = Resource::new(
        move || (id(), set_status.version().get()),
        |(id, _)| async move {
            let id = id.ok_or_else(|| AppError::not_found("no identity has this id"))?;
            Ok::<_, AppError>((get_identity(id).await?, current_viewer().await?))
        },
    );
    view! {
        <Title text="Identity"/>
        <ActionError value=set_status.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((identity, viewer)) => view! { <Detail identity viewer set_status/> }.into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(
    identity: Identity,
    viewer: Option<Viewer>,
    set_status: ServerAction<SetIdentityStatus>,
) -> impl IntoView {
    let admin = viewer
        .as_ref()
        .is_some_and(|viewer| viewer.has(Role::Admin));
    let sees_audit = viewer
        .as_ref()
        .is_some_and(|viewer| viewer.has(Role::Admin) || viewer.has(Role::Auditor));
    let id = identity.id.to_string();
    let edit_href = format!("/identities/{id}/edit");
    let audit_href = format!("/audit?subject_id={id}");
    let unowned = identity.is_unowned();
    let owner = owner_view(&identity);
    let attributes = attributes_text(&identity.attributes);
    view! {
        <div class="page-head">
            <h1>
                {identity.name.clone()} " "
                <Badge kind=identity.status.as_str() text=identity.status.label()/>
            </h1>
            {admin.then(|| view! {
                <div class="actions">
                    <a class="button" href=edit_href>"Edit"</a>
                    <StatusForm id=id.clone() status=identity.status set_status/>
                </div>
            })}
        </div>
        {unowned.then(|| view! {
            <p class="warning">
                "This non-human identity has no owner, so nobody is accountable for it. "
                {if admin { "Use Edit to assign one." } else { "Ask an admin to assign one." }}
            </p>
        })}
        <dl class="facts">
            <dt>"Kind"</dt><dd>{identity.kind.label()}</dd>
            <dt>"Owner"</dt><dd>{owner}</dd>
            <dt>"Environment"</dt><dd>{or_dash(&identity.environment)}</dd>
            <dt>"Criticality"</dt>
            <dd><Badge kind=identity.criticality.as_str() text=identity.criticality.label()/></dd>
            <dt>"Description"</dt><dd class="reason">{or_dash(&identity.description)}</dd>
            <dt>"External id"</dt>
            <dd>{identity.external_id.clone().map_or_else(|| "—".into_any(), |external| view! { <code>{external}</code> }.into_any())}</dd>
            <dt>"Status"</dt><dd>{identity.status.label()}</dd>
            <dt>"Last used"</dt><dd>{format::maybe_time(identity.last_used_at)}</dd>
            <dt>"Console user"</dt>
            <dd>{if identity.user_id.is_some() { "Yes, this person signs in to Writ" } else { "No" }}</dd>
            <dt>"Created"</dt><dd>{format::time(identity.created_at)}</dd>
            <dt>"Updated"</dt><dd>{format::time(identity.updated_at)}</dd>
        </dl>
        <section>
            <h2>"Attributes"</h2>
            {match attributes {
                Some(text) => view! { <pre class="json">{text}</pre> }.into_any(),
                None => view! { <p class="empty">"No attributes."</p> }.into_any(),
            }}
        </section>
        {sees_audit.then(|| view! {
            <p><a href=audit_href>"Audit log for this identity"</a></p>
        })}
    }
}

/// Renders the button that disables an active identity or re-enables a disabled one.
#[component]
fn StatusForm(
    id: String,
    status: IdentityStatus,
    set_status: ServerAction<SetIdentityStatus>,
) -> impl IntoView {
    let (next, label, class) = match status {
        IdentityStatus::Active => (IdentityStatus::Disabled, "Disable", "danger"),
        IdentityStatus::Disabled => (IdentityStatus::Active, "Enable", "secondary"),
    };
    view! {
        <ActionForm action=set_status attr:class="inline">
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="status" value=next.as_str()/>
            <button type="submit" class=class>{label}</button>
        </ActionForm>
    }
}

/// Returns the owner as a link, a "No owner" flag for an unowned non-human identity, or a dash.
fn owner_view(identity: &Identity) -> AnyView {
    match (identity.owner_id, identity.owner_name.clone()) {
        (Some(owner_id), name) => {
            let href = format!("/identities/{owner_id}");
            let name = name.unwrap_or_else(|| owner_id.to_string());
            view! { <a href=href>{name}</a> }.into_any()
        }
        (None, _) if identity.kind != IdentityKind::Human => {
            view! { <Badge kind="unowned" text="No owner"/> }.into_any()
        }
        (None, _) => "—".into_any(),
    }
}

/// Returns the attributes as pretty-printed JSON, or `None` when there are none.
fn attributes_text(attributes: &serde_json::Value) -> Option<String> {
    let empty = match attributes {
        serde_json::Value::Null => true,
        serde_json::Value::Object(map) => map.is_empty(),
        _ => false,
    };
    if empty {
        None
    } else {
        serde_json::to_string_pretty(attributes).ok()
    }
}

fn or_dash(text: &str) -> String {
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
    fn empty_attributes_show_nothing() {
        assert_eq!(attributes_text(&serde_json::json!({})), None);
        assert_eq!(attributes_text(&serde_json::Value::Null), None);
    }

    #[test]
    fn attributes_are_pretty_printed() {
        let text = attributes_text(&serde_json::json!({ "team": "payments" }));
        assert_eq!(text.as_deref(), Some("{\n  \"team\": \"payments\"\n}"));
    }
}
