//! The identity form, for adding an identity to the inventory and for editing one.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::api::inventory::{CreateIdentity, UpdateIdentity, get_identity, owner_choices};
use crate::components::common::{ActionError, failed, loading, textarea_text};
use crate::error::AppError;
use crate::model::{Choice, Criticality, Identity, IdentityKind};

/// Adds an identity, after which the server opens its page.
#[component]
pub fn NewIdentityPage() -> impl IntoView {
    let create = ServerAction::<CreateIdentity>::new();
    let owners = Resource::new(|| (), |_| owner_choices());
    view! {
        <Title text="Add identity"/>
        <h1>"Add identity"</h1>
        <ActionError value=create.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match owners.await {
                    Ok(owners) => view! {
                        <ActionForm action=create attr:class="form">
                            <IdentityFields identity=None owners/>
                            <div class="buttons">
                                <button type="submit">"Add identity"</button>
                                <a class="button secondary" href="/identities">"Cancel"</a>
                            </div>
                        </ActionForm>
                    }
                    .into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}

/// Edits an identity, after which the server returns to its page.
#[component]
pub fn EditIdentityPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let update = ServerAction::<UpdateIdentity>::new();
    let data = Resource::new(id, |id| async move {
        let id = id.ok_or_else(|| AppError::not_found("no identity has this id"))?;
        Ok::<_, AppError>((get_identity(id).await?, owner_choices().await?))
    });
    view! {
        <Title text="Edit identity"/>
        <ActionError value=update.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (identity, owners) = match data.await {
                    Ok(data) => data,
                    Err(error) => return failed(error),
                };
                let id = identity.id.to_string();
                let back = format!("/identities/{id}");
                view! {
                    <h1>{format!("Edit {}", identity.name)}</h1>
                    <ActionForm action=update attr:class="form">
                        <input type="hidden" name="id" value=id/>
                        <IdentityFields identity=Some(identity) owners/>
                        <div class="buttons">
                            <button type="submit">"Save"</button>
                            <a class="button secondary" href=back>"Cancel"</a>
                        </div>
                    </ActionForm>
                }
                .into_any()
            })}
        </Suspense>
    }
}

/// Renders the fields of `IdentityInput`, pre-filled from `identity` when editing.
#[component]
fn IdentityFields(identity: Option<Identity>, owners: Vec<Choice>) -> impl IntoView {
    let kind = identity.as_ref().map(|identity| identity.kind);
    let criticality = identity
        .as_ref()
        .map_or(Criticality::Medium, |identity| identity.criticality);
    let owner = identity
        .as_ref()
        .and_then(|identity| identity.owner_id)
        .map(|owner| owner.to_string())
        .unwrap_or_default();
    // An identity may not own itself, so it is left out of its own owner list.
    let own_id = identity.as_ref().map(|identity| identity.id.to_string());
    let owners: Vec<Choice> = owners
        .into_iter()
        .filter(|choice| Some(&choice.value) != own_id.as_ref())
        .collect();
    let attributes = identity
        .as_ref()
        .map(|identity| attributes_field(&identity.attributes))
        .unwrap_or_default();
    let text = |field: fn(&Identity) -> String| identity.as_ref().map(field).unwrap_or_default();
    view! {
        <label>
            "Kind"
            <select name="input[kind]" required>
                <option value="" disabled selected=kind.is_none()>"Choose a kind"</option>
                {IdentityKind::ALL.iter().map(|option| view! {
                    <option value=option.as_str() selected=kind == Some(*option)>{option.label()}</option>
                }).collect_view()}
            </select>
        </label>
        <label>
            "Name"
            <input type="text" name="input[name]" value=text(|i| i.name.clone()) required maxlength="200"
                placeholder="such as billing-exporter"/>
        </label>
        <label>
            "Owner"
            <select name="input[owner_id]">
                <option value="" selected=owner.is_empty()>"No owner"</option>
                {owners.into_iter().map(|choice| {
                    let selected = choice.value == owner;
                    view! { <option value=choice.value selected=selected>{choice.label}</option> }
                }).collect_view()}
            </select>
            <small>"The person accountable for this identity. Every non-human identity should have one."</small>
        </label>
        <label>
            "Environment"
            <input type="text" name="input[environment]" value=text(|i| i.environment.clone()) maxlength="64"
                placeholder="such as prod or staging"/>
        </label>
        <label>
            "Criticality"
            <select name="input[criticality]">
                {Criticality::ALL.iter().map(|option| view! {
                    <option value=option.as_str() selected=*option == criticality>{option.label()}</option>
                }).collect_view()}
            </select>
        </label>
        <label>
            "Description"
            <textarea name="input[description]" rows="3" maxlength="2000">{textarea_text(&text(|i| i.description.clone()))}</textarea>
        </label>
        <label>
            "External id"
            <input type="text" name="input[external_id]" maxlength="200"
                value=text(|i| i.external_id.clone().unwrap_or_default())
                placeholder="such as the id in your cloud provider or directory"/>
            <small>"Must be unique across the inventory. CSV imports match owners by it."</small>
        </label>
        <label>
            "Attributes"
            <textarea name="input[attributes]" rows="5" class="code"
                placeholder="{\"team\": \"payments\", \"cost_center\": \"4100\"}">{textarea_text(&attributes)}</textarea>
            <small>"A JSON object of free-form attributes; leave empty for none."</small>
        </label>
    }
}

/// Formats the attributes for the form as pretty JSON, or as empty text for none.
fn attributes_field(attributes: &serde_json::Value) -> String {
    match attributes {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Object(map) if map.is_empty() => String::new(),
        value => serde_json::to_string_pretty(value).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_field_is_empty_for_none() {
        assert_eq!(attributes_field(&serde_json::json!({})), "");
        assert_eq!(attributes_field(&serde_json::Value::Null), "");
    }

    #[test]
    fn attributes_field_round_trips() {
        let value = serde_json::json!({ "team": "payments", "tier": 2 });
        let text = attributes_field(&value);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, value);
    }
}
