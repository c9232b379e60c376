//! The page frame: header, navigation for the viewer's roles, and the sign-out button.

use leptos::prelude::*;

use crate::api::auth::{SignOut, current_viewer};
use crate::model::{Role, Viewer};

/// Wraps every page with the header and navigation.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    // Reloaded on each navigation, so the header follows a sign-in or sign-out made without a
    // full page load.
    let location = leptos_router::hooks::use_location();
    let viewer = Resource::new(move || location.pathname.get(), |_| current_viewer());
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Writ"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match viewer.await {
                        Ok(Some(viewer)) => view! { <Navigation viewer/> }.into_any(),
                        _ => view! { <nav><a href="/sign-in">"Sign in"</a></nav> }.into_any(),
                    }
                })}
            </Suspense>
        </header>
        <main class="content">{children()}</main>
    }
}

#[component]
fn Navigation(viewer: Viewer) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let admin = viewer.has(Role::Admin);
    let sees_audit = admin || viewer.has(Role::Auditor);
    let approver = viewer.has(Role::Approver);
    let requester = viewer.has(Role::Requester);
    view! {
        <nav>
            <a href="/">"Dashboard"</a>
            <a href="/identities">"Inventory"</a>
            <a href="/resources">"Resources"</a>
            {requester.then(|| view! { <a href="/requests/new">"New request"</a> })}
            <a href="/requests">"My requests"</a>
            {approver.then(|| view! { <a href="/reviews">"To review"</a> })}
            <a href="/grants">"Grants"</a>
            {sees_audit.then(|| view! { <a href="/audit">"Audit log"</a> })}
            {sees_audit.then(|| view! { <a href="/policies">"Policies"</a> })}
            {sees_audit.then(|| view! { <a href="/decisions">"Decisions"</a> })}
            {admin.then(|| view! { <a href="/clients">"Clients"</a> })}
            {admin.then(|| view! { <a href="/admin/users">"Users"</a> })}
        </nav>
        <div class="who">
            <a href="/account" class="viewer-name">{viewer.display_name.clone()}</a>
            <ActionForm action=sign_out attr:class="inline">
                <button type="submit" class="link">"Sign out"</button>
            </ActionForm>
        </div>
    }
}
