//! The resource form, for adding a resource and for editing or archiving one.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::api::access::{
    CreateResource, SetResourceArchived, UpdateResource, get_resource, principal_choices,
};
use crate::components::common::{ActionError, Badge, failed, loading, textarea_text};
use crate::error::AppError;
use crate::format;
use crate::model::{Choice, PrincipalRef, Resource as AccessResource, Sensitivity};

/// Adds a resource, after which the server returns to the resource list.
#[component]
pub fn NewResourcePage() -> impl IntoView {
    let create = ServerAction::<CreateResource>::new();
    let principals = Resource::new(|| (), |_| principal_choices());
    view! {
        <Title text="Add resource"/>
        <h1>"Add resource"</h1>
        <ActionError value=create.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match principals.await {
                    Ok(principals) => view! {
                        <ActionForm action=create attr:class="form">
                            <ResourceFields resource=None principals/>
                            <div class="buttons">
                                <button type="submit">"Add resource"</button>
                                <a class="button secondary" href="/resources">"Cancel"</a>
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

/// Edits a resource, archives it or restores it.
#[component]
pub fn EditResourcePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let update = ServerAction::<UpdateResource>::new();
    let archive = ServerAction::<SetResourceArchived>::new();
    let data = Resource::new(
        move || (id(), archive.version().get()),
        |(id, _)| async move {
            let id = id.ok_or_else(|| AppError::not_found("no resource has this id"))?;
            Ok::<_, AppError>((get_resource(id).await?, principal_choices().await?))
        },
    );
    view! {
        <Title text="Edit resource"/>
        <ActionError value=update.value()/>
        <ActionError value=archive.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (resource, principals) = match data.await {
                    Ok(data) => data,
                    Err(error) => return failed(error),
                };
                let id = resource.id.to_string();
                let archive_id = id.clone();
                let archived = resource.archived_at.is_some();
                view! {
                    <div class="page-head">
                        <h1>
                            {resource.name.clone()}
                            {archived.then(|| view! { " " <Badge kind="archived" text="Archived"/> })}
                        </h1>
                        <div class="actions">
                            <ActionForm action=archive attr:class="inline">
                                <input type="hidden" name="id" value=archive_id/>
                                <input type="hidden" name="archived" value=(!archived).to_string()/>
                                {if archived {
                                    view! { <button type="submit" class="secondary">"Restore"</button> }.into_any()
                                } else {
                                    view! { <button type="submit" class="danger">"Archive"</button> }.into_any()
                                }}
                            </ActionForm>
                        </div>
                    </div>
                    {resource.archived_at.map(|at| view! {
                        <p class="notice">
                            {format!("Archived on {}. Nobody can request it until it is restored.", format::time(at))}
                        </p>
                    })}
                    <ActionForm action=update attr:class="form">
                        <input type="hidden" name="id" value=id/>
                        <ResourceFields resource=Some(resource) principals/>
                        <div class="buttons">
                            <button type="submit">"Save"</button>
                            <a class="button secondary" href="/resources">"Cancel"</a>
                        </div>
                    </ActionForm>
                }
                .into_any()
            })}
        </Suspense>
    }
}

/// Renders the fields of `ResourceInput`, pre-filled from `resource` when editing.
#[component]
fn ResourceFields(resource: Option<AccessResource>, principals: Vec<Choice>) -> impl IntoView {
    let sensitivity = resource
        .as_ref()
        .map_or(Sensitivity::Medium, |resource| resource.sensitivity);
    // The form takes the same text as `format::duration_secs` without its spaces, such as `1d2h`.
    let max_duration = resource.as_ref().map_or_else(
        || "8h".to_owned(),
        |resource| format::duration_secs(i64::from(resource.max_duration_secs)).replace(' ', ""),
    );
    let required_approvals = resource
        .as_ref()
        .map_or(1, |resource| resource.required_approvals)
        .to_string();
    let requesters = principal_values(resource.as_ref().map(|r| r.requesters.as_slice()));
    let approvers = principal_values(resource.as_ref().map(|r| r.approvers.as_slice()));
    let text = |field: fn(&AccessResource) -> &String| {
        resource
            .as_ref()
            .map(|resource| field(resource).clone())
            .unwrap_or_default()
    };
    view! {
        <label>
            "Name"
            <input type="text" name="input[name]" value=text(|r| &r.name) required maxlength="200"
                placeholder="such as Production database, read-only"/>
        </label>
        <label>
            "Target"
            <input type="text" name="input[target]" value=text(|r| &r.target) required maxlength="200"
                placeholder="such as postgres://orders-db"/>
            <small>"The system that access is granted on."</small>
        </label>
        <label>
            "Role"
            <input type="text" name="input[role]" value=text(|r| &r.role) required maxlength="200"
                placeholder="such as readonly"/>
            <small>"The role or permission set on the target that a grant gives."</small>
        </label>
        <label>
            "Description"
            <textarea name="input[description]" rows="3" maxlength="2000">{textarea_text(text(|r| &r.description).as_str())}</textarea>
        </label>
        <label>
            "Sensitivity"
            <select name="input[sensitivity]" required>
                {Sensitivity::ALL.iter().map(|option| view! {
                    <option value=option.as_str() selected=*option == sensitivity>{option.label()}</option>
                }).collect_view()}
            </select>
        </label>
        <label>
            "Maximum duration"
            <input type="text" name="input[max_duration]" value=max_duration required
                placeholder="such as 30m, 8h or 1d"/>
            <small>"The longest a grant may last, extensions included; from 1m to 365d."</small>
        </label>
        <label>
            "Required approvals"
            <input type="number" name="input[required_approvals]" value=required_approvals
                min="1" max="10" step="1" required/>
            <small>"How many different approvers must approve a request."</small>
        </label>
        <label>
            "Requesters"
            <PrincipalSelect name="input[requesters][]" choices=principals.clone() selected=requesters/>
            <small>"Users and groups who may request this resource. Leave empty to let every user with the Requester role request it. Hold Ctrl or ⌘ to choose several."</small>
        </label>
        <label>
            "Approvers"
            <PrincipalSelect name="input[approvers][]" choices=principals selected=approvers required=true/>
            <small>"Users and groups who may approve requests; approvers also need the Approver role. Nobody approves their own request."</small>
        </label>
    }
}

/// Renders a multi-select of users and groups whose values are `user:<id>` or `group:<id>`.
#[component]
fn PrincipalSelect(
    name: &'static str,
    choices: Vec<Choice>,
    selected: Vec<String>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let size = choices.len().clamp(2, 8).to_string();
    view! {
        <select name=name multiple size=size required=required>
            {choices.into_iter().map(|choice| {
                let chosen = selected.contains(&choice.value);
                view! { <option value=choice.value selected=chosen>{choice.label}</option> }
            }).collect_view()}
        </select>
    }
}

/// Returns the form values (`user:<id>` or `group:<id>`) of the principals named on a resource.
fn principal_values(principals: Option<&[PrincipalRef]>) -> Vec<String> {
    principals
        .unwrap_or_default()
        .iter()
        .filter_map(|principal| match (principal.user_id, principal.group_id) {
            (Some(user), _) => Some(format!("user:{user}")),
            (None, Some(group)) => Some(format!("group:{group}")),
            (None, None) => None,
        })
        .collect()
}

/// Tests of how console form bodies decode. Server function handlers (server_fn 0.8.13) and
/// hydrated `ActionForm`s (leptos 0.8.23) both decode them with serde_qs 0.15 in non-strict mode.
#[cfg(all(test, feature = "ssr"))]
pub(crate) mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use axum::body::Body;
    use server_fn::codec::{FromReq, PostUrl};

    use super::*;

    /// Decodes a URL-encoded form body into a server function's arguments.
    pub(crate) fn decode_form<T>(body: &'static str) -> Result<T, AppError>
    where
        T: FromReq<PostUrl, http::Request<Body>, AppError>,
    {
        let request = http::Request::builder()
            .method("POST")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("a request built from constants is valid");
        // The body is in memory, so the future completes on its first poll.
        let mut decoding = pin!(T::from_req(request));
        match decoding
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(result) => result,
            Poll::Pending => panic!("decoding an in-memory form body did not complete"),
        }
    }

    const USER: &str = "user:6f1c2a94-5f4e-4d7b-9a51-0c1f2e3d4b5a";
    const GROUP: &str = "group:0a7e3b1c-2d4f-4e6a-8b9c-1d2e3f4a5b6c";

    #[test]
    fn empty_brackets_decode_into_vec() {
        // A browser posts this for one requester and two approvers, with the brackets percent-encoded.
        let body = "input%5Bname%5D=Orders+DB&input%5Btarget%5D=postgres&input%5Brole%5D=readonly\
            &input%5Bsensitivity%5D=high&input%5Bmax_duration%5D=1d2h\
            &input%5Brequired_approvals%5D=2\
            &input%5Brequesters%5D%5B%5D=group%3A0a7e3b1c-2d4f-4e6a-8b9c-1d2e3f4a5b6c\
            &input%5Bapprovers%5D%5B%5D=user%3A6f1c2a94-5f4e-4d7b-9a51-0c1f2e3d4b5a\
            &input%5Bapprovers%5D%5B%5D=group%3A0a7e3b1c-2d4f-4e6a-8b9c-1d2e3f4a5b6c";
        let decoded: CreateResource = decode_form(body).unwrap();
        assert_eq!(decoded.input.requesters, vec![GROUP.to_owned()]);
        assert_eq!(
            decoded.input.approvers,
            vec![USER.to_owned(), GROUP.to_owned()]
        );
        assert_eq!(decoded.input.max_duration, "1d2h");
        assert_eq!(decoded.input.description, "");
    }

    #[test]
    fn unencoded_brackets_decode_into_vec() {
        let body = "id=6f1c2a94-5f4e-4d7b-9a51-0c1f2e3d4b5a&input[name]=x&input[target]=t\
            &input[role]=r&input[sensitivity]=low&input[max_duration]=8h\
            &input[required_approvals]=1\
            &input[approvers][]=user:6f1c2a94-5f4e-4d7b-9a51-0c1f2e3d4b5a";
        let decoded: UpdateResource = decode_form(body).unwrap();
        assert_eq!(decoded.input.approvers, vec![USER.to_owned()]);
    }

    #[test]
    fn unselected_multi_select_decodes_empty() {
        // A multi-select with nothing chosen sends no pair at all.
        let body = "input%5Bname%5D=x&input%5Btarget%5D=t&input%5Brole%5D=r\
            &input%5Bsensitivity%5D=low&input%5Bmax_duration%5D=8h\
            &input%5Brequired_approvals%5D=1";
        let decoded: CreateResource = decode_form(body).unwrap();
        assert!(decoded.input.requesters.is_empty());
        assert!(decoded.input.approvers.is_empty());
    }

    #[test]
    fn repeated_name_without_brackets_is_rejected() {
        // The multi-selects end their names in `[]` because serde_qs rejects a repeated plain key.
        let body = "input[name]=x&input[target]=t&input[role]=r&input[sensitivity]=low\
            &input[max_duration]=8h&input[required_approvals]=1\
            &input[approvers]=user:6f1c2a94-5f4e-4d7b-9a51-0c1f2e3d4b5a\
            &input[approvers]=group:0a7e3b1c-2d4f-4e6a-8b9c-1d2e3f4a5b6c";
        let decoded = decode_form::<CreateResource>(body);
        assert!(decoded.is_err(), "{decoded:?}");
    }

    #[test]
    fn principal_values_use_form_prefixes() {
        let user = Uuid::nil();
        let principals = [
            PrincipalRef {
                user_id: Some(user),
                group_id: None,
                name: "Ada".into(),
            },
            PrincipalRef {
                user_id: None,
                group_id: Some(user),
                name: "Ops".into(),
            },
        ];
        let values = principal_values(Some(&principals));
        assert_eq!(
            values,
            vec![format!("user:{user}"), format!("group:{user}")]
        );
    }

    #[test]
    fn duration_field_has_no_spaces() {
        let text = format::duration_secs(26 * 3600).replace(' ', "");
        assert_eq!(text, "1d2h");
    }
}
