//! The Writ console: Leptos pages, components and server functions, shared by the server
//! (rendering) and the browser (hydration).

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
pub mod error;
pub mod format;
pub mod model;
pub mod pages;
pub mod return_to;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::components::layout::Layout;
use crate::pages::*;

/// The HTML document around the app. `hydrate` adds the scripts that load the WebAssembly
/// bundle; without it the console is plain server-rendered HTML with forms.
pub fn shell(options: LeptosOptions, hydrate: bool) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                {hydrate.then(|| view! { <HydrationScripts options=options.clone()/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The console's routes. Every route renders only after its data has loaded, so pages work
/// without JavaScript.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="writ" href="/writ.css"/>
        <Title formatter=|text: String| format!("{text} · Writ")/>
        <Router>
            <Layout>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=dashboard::DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in") view=sign_in::SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in/link") view=sign_in::LinkPage ssr=SsrMode::Async/>
                    <Route path=path!("/identities") view=identities::IdentitiesPage ssr=SsrMode::Async/>
                    <Route path=path!("/identities/new") view=identity_form::NewIdentityPage ssr=SsrMode::Async/>
                    <Route path=path!("/identities/import") view=import::ImportPage ssr=SsrMode::Async/>
                    <Route path=path!("/identities/:id") view=identity_detail::IdentityPage ssr=SsrMode::Async/>
                    <Route path=path!("/identities/:id/edit") view=identity_form::EditIdentityPage ssr=SsrMode::Async/>
                    <Route path=path!("/resources") view=resources::ResourcesPage ssr=SsrMode::Async/>
                    <Route path=path!("/resources/new") view=resource_form::NewResourcePage ssr=SsrMode::Async/>
                    <Route path=path!("/resources/:id") view=resource_form::EditResourcePage ssr=SsrMode::Async/>
                    <Route path=path!("/requests") view=requests::MyRequestsPage ssr=SsrMode::Async/>
                    <Route path=path!("/requests/new") view=request_new::NewRequestPage ssr=SsrMode::Async/>
                    <Route path=path!("/requests/:id") view=request_detail::RequestPage ssr=SsrMode::Async/>
                    <Route path=path!("/reviews") view=requests::ReviewQueuePage ssr=SsrMode::Async/>
                    <Route path=path!("/grants") view=grants::GrantsPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=audit::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/policies") view=policies::PoliciesPage ssr=SsrMode::Async/>
                    <Route path=path!("/policies/:id") view=policy_version::PolicyVersionPage ssr=SsrMode::Async/>
                    <Route path=path!("/decisions") view=decisions::DecisionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/decisions/:id") view=decision_detail::DecisionPage ssr=SsrMode::Async/>
                    <Route path=path!("/clients") view=clients::ClientsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=users::UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/groups") view=users::GroupsPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=account::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/approve") view=approve::ApprovePage ssr=SsrMode::Async/>
                    <Route path=path!("/approve/done") view=approve::ApproveDonePage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/notifications") view=notifications::NotificationsPage ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}
