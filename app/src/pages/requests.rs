//! The viewer's own requests and the approver's review queue.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::access::{list_my_requests, list_review_queue};
use crate::components::common::{Empty, Pager, failed, loading};
use crate::components::tables::RequestTable;

/// Requests the viewer filed, newest first.
#[component]
pub fn MyRequestsPage() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(move || query.read().get("cursor"), list_my_requests);
    view! {
        <Title text="My requests"/>
        <div class="page-head">
            <h1>"My requests"</h1>
            <div class="actions"><a class="button" href="/requests/new">"New request"</a></div>
        </div>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) if page.items.is_empty() => view! { <Empty text="You have not requested access yet."/> }.into_any(),
                    Ok(page) => view! {
                        <RequestTable requests=page.items/>
                        <Pager next=page.next base="/requests"/>
                    }
                    .into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}

/// Pending requests the viewer may approve or deny, oldest first.
#[component]
pub fn ReviewQueuePage() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(move || query.read().get("cursor"), list_review_queue);
    view! {
        <Title text="To review"/>
        <h1>"Requests to review"</h1>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) if page.items.is_empty() => view! { <Empty text="Nothing waits for your review."/> }.into_any(),
                    Ok(page) => view! {
                        <RequestTable requests=page.items/>
                        <Pager next=page.next base="/reviews"/>
                    }
                    .into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}
