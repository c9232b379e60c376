//! The resource list: what can be requested, its limits and its approvers.

use std::collections::HashSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::api::access::{list_resources, requestable_resources};
use crate::api::auth::current_viewer;
use crate::components::common::{Badge, Empty, Pager, failed, loading};
use crate::error::AppError;
use crate::format;
use crate::model::{PrincipalRef, Resource as AccessResource, Role};

/// Lists resources, with archived ones too when an admin opens `?archived=true`.
#[component]
pub fn ResourcesPage() -> impl IntoView {
    let query = use_query_map();
    let include_archived = move || query.read().get("archived").as_deref() == Some("true");
    let cursor = move || query.read().get("cursor");
    let data = Resource::new(
        move || (include_archived(), cursor()),
        |(include_archived, cursor)| async move {
            let resources = list_resources(include_archived, cursor).await?;
            let requestable: HashSet<Uuid> = requestable_resources()
                .await?
                .into_iter()
                .map(|resource| resource.id)
                .collect();
            let admin = current_viewer()
                .await?
                .is_some_and(|viewer| viewer.has(Role::Admin));
            Ok::<_, AppError>((resources, requestable, admin))
        },
    );
    view! {
        <Title text="Resources"/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (resources, requestable, admin) = match data.await {
                    Ok(data) => data,
                    Err(error) => return failed(error),
                };
                view! {
                    <div class="page-head">
                        <h1>"Resources"</h1>
                        {admin.then(|| view! {
                            <div class="actions">
                                <a class="button" href="/resources/new">"Add resource"</a>
                            </div>
                        })}
                    </div>
                    {admin.then(|| view! {
                        <nav class="tabs">
                            <a href="/resources" class:current=move || !include_archived()>"Current"</a>
                            <a href="/resources?archived=true" class:current=include_archived>"With archived"</a>
                        </nav>
                    })}
                    {if resources.items.is_empty() {
                        let text = if admin {
                            "There are no resources yet. Add one to let people request access to it."
                        } else {
                            "There are no resources yet. An admin adds them."
                        };
                        view! { <Empty text=text/> }.into_any()
                    } else {
                        let base = if include_archived() { "/resources?archived=true" } else { "/resources" };
                        view! {
                            <ResourceTable resources=resources.items requestable admin/>
                            <Pager next=resources.next base=base/>
                        }
                        .into_any()
                    }}
                }
                .into_any()
            })}
        </Suspense>
    }
}

#[component]
fn ResourceTable(
    resources: Vec<AccessResource>,
    requestable: HashSet<Uuid>,
    admin: bool,
) -> impl IntoView {
    view! {
        <table class="list">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Target"</th>
                    <th>"Role"</th>
                    <th>"Sensitivity"</th>
                    <th>"Max duration"</th>
                    <th>"Approvals needed"</th>
                    <th>"Approvers"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {resources.into_iter().map(|resource| {
                    let may_request = resource.archived_at.is_none() && requestable.contains(&resource.id);
                    let request_href = format!("/requests/new?resource={}", resource.id);
                    let edit_href = format!("/resources/{}", resource.id);
                    view! {
                        <tr>
                            <td>
                                {resource.name.clone()}
                                {resource.archived_at.is_some().then(|| view! {
                                    " " <Badge kind="archived" text="Archived"/>
                                })}
                            </td>
                            <td>{resource.target.clone()}</td>
                            <td>{resource.role.clone()}</td>
                            <td><Badge kind=resource.sensitivity.as_str() text=resource.sensitivity.label()/></td>
                            <td>{format::duration_secs(i64::from(resource.max_duration_secs))}</td>
                            <td>{resource.required_approvals}</td>
                            <td>{names(&resource.approvers)}</td>
                            <td class="row-actions">
                                {may_request.then(|| view! { <a href=request_href>"Request"</a> })}
                                {admin.then(|| view! { " " <a href=edit_href>"Edit"</a> })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Joins the principals' names with commas, or returns a dash for none.
fn names(principals: &[PrincipalRef]) -> String {
    if principals.is_empty() {
        return "—".to_owned();
    }
    principals
        .iter()
        .map(|principal| principal.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
