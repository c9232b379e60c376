//! The dashboard: pending approvals, the viewer's requests and grants, and what expires soon.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::access::load_dashboard;
use crate::components::common::{Empty, failed, loading};
use crate::components::tables::{GrantTable, RequestTable};

/// The first page after signing in.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_dashboard());
    view! {
        <Title text="Dashboard"/>
        <h1>"Dashboard"</h1>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let data = match data.await {
                    Ok(data) => data,
                    Err(error) => return failed(error),
                };
                let unowned = data.unowned_identities;
                view! {
                    {(unowned > 0).then(|| view! {
                        <p class="warning">
                            <a href="/identities?unowned=true">
                                {format!("{unowned} non-human identities have no owner")}
                            </a>
                        </p>
                    })}
                    <section>
                        <h2>"Waiting for my approval"</h2>
                        {if data.pending_approvals.is_empty() {
                            view! { <Empty text="Nothing waits for your review."/> }.into_any()
                        } else {
                            view! { <RequestTable requests=data.pending_approvals/> }.into_any()
                        }}
                    </section>
                    <section>
                        <h2>"My pending requests"</h2>
                        {if data.my_pending_requests.is_empty() {
                            view! { <Empty text="You have no pending requests."/> }.into_any()
                        } else {
                            view! { <RequestTable requests=data.my_pending_requests/> }.into_any()
                        }}
                    </section>
                    <section>
                        <h2>"My active grants"</h2>
                        {if data.active_grants.is_empty() {
                            view! { <Empty text="You hold no grants right now."/> }.into_any()
                        } else {
                            view! { <GrantTable grants=data.active_grants/> }.into_any()
                        }}
                    </section>
                    <section>
                        <h2>"Expiring within the hour"</h2>
                        {if data.expiring_soon.is_empty() {
                            view! { <Empty text="None of your grants expire within the hour."/> }.into_any()
                        } else {
                            view! { <GrantTable grants=data.expiring_soon/> }.into_any()
                        }}
                    </section>
                }
                .into_any()
            })}
        </Suspense>
    }
}
