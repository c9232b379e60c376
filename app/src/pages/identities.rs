//! The inventory list: search, filters and keyset pagination.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::api::inventory::list_identities;
use crate::components::common::{Badge, Empty, Pager, failed, loading};
use crate::format;
use crate::model::{IdentityFilter, IdentityKind, IdentityStatus};

/// Lists identities; the filter form is a plain GET form, so it works without JavaScript.
#[component]
pub fn IdentitiesPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || filter_from(&query.read());
    let cursor = move || query.read().get("cursor");
    let page = Resource::new(
        move || (filter(), cursor()),
        |(filter, cursor)| list_identities(filter, cursor),
    );
    let base = move || base_url(&query.read());
    view! {
        <Title text="Inventory"/>
        <div class="page-head">
            <h1>"Inventory"</h1>
            <div class="actions">
                <a class="button" href="/identities/new">"Add identity"</a>
                <a class="button secondary" href="/identities/import">"Import CSV"</a>
            </div>
        </div>
        <FilterForm filter=filter()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let page = match page.await {
                    Ok(page) => page,
                    Err(error) => return failed(error),
                };
                if page.items.is_empty() {
                    return view! { <Empty text="No identities match."/> }.into_any();
                }
                view! {
                    <table class="list">
                        <thead>
                            <tr>
                                <th>"Name"</th>
                                <th>"Kind"</th>
                                <th>"Owner"</th>
                                <th>"Environment"</th>
                                <th>"Criticality"</th>
                                <th>"Status"</th>
                                <th>"Last used"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {page.items.into_iter().map(|identity| {
                                let href = format!("/identities/{}", identity.id);
                                let owner = if identity.is_unowned() {
                                    view! { <Badge kind="unowned" text="No owner"/> }.into_any()
                                } else {
                                    identity.owner_name.clone().unwrap_or_default().into_any()
                                };
                                view! {
                                    <tr>
                                        <td><a href=href>{identity.name.clone()}</a></td>
                                        <td>{identity.kind.label()}</td>
                                        <td>{owner}</td>
                                        <td>{identity.environment.clone()}</td>
                                        <td>{identity.criticality.label()}</td>
                                        <td><Badge kind=identity.status.as_str() text=identity.status.label()/></td>
                                        <td>{format::maybe_time(identity.last_used_at)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    <Pager next=page.next base=base()/>
                }
                .into_any()
            })}
        </Suspense>
    }
}

#[component]
fn FilterForm(filter: IdentityFilter) -> impl IntoView {
    let kind = filter.kind;
    let status = filter.status;
    view! {
        <form method="get" action="/identities" class="filters">
            <input type="search" name="q" placeholder="Search name, external id, description"
                value=filter.q.clone().unwrap_or_default()/>
            <select name="kind">
                <option value="">"Any kind"</option>
                {IdentityKind::ALL.iter().map(|option| view! {
                    <option value=option.as_str() selected=kind == Some(*option)>{option.label()}</option>
                }).collect_view()}
            </select>
            <input type="text" name="environment" placeholder="Environment"
                value=filter.environment.clone().unwrap_or_default()/>
            <select name="status">
                <option value="">"Any status"</option>
                {IdentityStatus::ALL.iter().map(|option| view! {
                    <option value=option.as_str() selected=status == Some(*option)>{option.label()}</option>
                }).collect_view()}
            </select>
            <label class="check">
                <input type="checkbox" name="unowned" value="true" checked=filter.unowned/>
                "Without owner"
            </label>
            <button type="submit">"Filter"</button>
        </form>
    }
}

/// Reads the filter from the page's query string; unknown values are ignored.
fn filter_from(query: &ParamsMap) -> IdentityFilter {
    let text = |key: &str| query.get(key).filter(|value| !value.trim().is_empty());
    IdentityFilter {
        q: text("q"),
        kind: text("kind").and_then(|kind| kind.parse().ok()),
        environment: text("environment"),
        status: text("status").and_then(|status| status.parse().ok()),
        owner_id: text("owner_id").and_then(|owner| owner.parse().ok()),
        unowned: query.get("unowned").as_deref() == Some("true"),
    }
}

/// The current list URL without its cursor, for the pager.
fn base_url(query: &ParamsMap) -> String {
    let pairs: Vec<String> = ["q", "kind", "environment", "status", "owner_id", "unowned"]
        .iter()
        .filter_map(|key| {
            query
                .get(key)
                .filter(|value| !value.is_empty())
                .map(|value| format!("{key}={}", urlencode(&value)))
        })
        .collect();
    if pairs.is_empty() {
        "/identities".to_owned()
    } else {
        format!("/identities?{}", pairs.join("&"))
    }
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(byte as char)
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}
