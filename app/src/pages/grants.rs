//! Grants: live ones and history.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::access::list_grants;
use crate::components::common::{Empty, Pager, failed, loading};
use crate::components::tables::GrantTable;
use crate::model::GrantScope;

/// Lists grants; `?scope=history` shows ended ones.
#[component]
pub fn GrantsPage() -> impl IntoView {
    let query = use_query_map();
    let scope = move || match query.read().get("scope").as_deref() {
        Some("history") => GrantScope::History,
        _ => GrantScope::Live,
    };
    let page = Resource::new(
        move || (scope(), query.read().get("cursor")),
        |(scope, cursor)| list_grants(scope, cursor),
    );
    view! {
        <Title text="Grants"/>
        <h1>"Grants"</h1>
        <nav class="tabs">
            <a href="/grants" class:current=move || scope() == GrantScope::Live>"Active and scheduled"</a>
            <a href="/grants?scope=history" class:current=move || scope() == GrantScope::History>"History"</a>
        </nav>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let base = match scope() {
                    GrantScope::Live => "/grants",
                    GrantScope::History => "/grants?scope=history",
                };
                match page.await {
                    Ok(page) if page.items.is_empty() => view! { <Empty text="No grants here."/> }.into_any(),
                    Ok(page) => view! {
                        <GrantTable grants=page.items/>
                        <Pager next=page.next base=base/>
                    }
                    .into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}
