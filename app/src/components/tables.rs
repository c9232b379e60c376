//! Tables of requests and grants, shared by the dashboard and the list pages.

use leptos::prelude::*;

use crate::components::common::Badge;
use crate::format;
use crate::model::{AccessRequest, Grant};

/// A table of access requests linking to each request's page.
#[component]
pub fn RequestTable(requests: Vec<AccessRequest>) -> impl IntoView {
    view! {
        <table class="list">
            <thead>
                <tr>
                    <th>"Resource"</th>
                    <th>"Subject"</th>
                    <th>"Requester"</th>
                    <th>"Duration"</th>
                    <th>"State"</th>
                    <th>"Approvals"</th>
                    <th>"Filed"</th>
                </tr>
            </thead>
            <tbody>
                {requests
                    .into_iter()
                    .map(|request| {
                        let href = format!("/requests/{}", request.id);
                        view! {
                            <tr>
                                <td><a href=href>{request.resource_name.clone()}</a></td>
                                <td>{request.subject_name.clone()}</td>
                                <td>{request.requester_name.clone()}</td>
                                <td>{format::duration_secs(i64::from(request.duration_secs))}</td>
                                <td><Badge kind=request.state.as_str() text=request.state.label()/></td>
                                <td>{format!("{} of {}", request.approvals, request.required_approvals)}</td>
                                <td>{format::time(request.created_at)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// A table of grants linking to the request each came from.
#[component]
pub fn GrantTable(grants: Vec<Grant>) -> impl IntoView {
    view! {
        <table class="list">
            <thead>
                <tr>
                    <th>"Resource"</th>
                    <th>"Subject"</th>
                    <th>"Requester"</th>
                    <th>"State"</th>
                    <th>"Starts"</th>
                    <th>"Expires"</th>
                    <th>"Ended"</th>
                </tr>
            </thead>
            <tbody>
                {grants
                    .into_iter()
                    .map(|grant| {
                        let href = format!("/requests/{}", grant.request_id);
                        view! {
                            <tr class="grant-row" data-state=grant.state.as_str()>
                                <td><a href=href>{grant.resource_name.clone()}</a></td>
                                <td>{grant.subject_name.clone()}</td>
                                <td>{grant.requester_name.clone()}</td>
                                <td><Badge kind=grant.state.as_str() text=grant.state.label()/></td>
                                <td>{format::time(grant.starts_at)}</td>
                                <td>{format::time(grant.expires_at)}</td>
                                <td>{format::maybe_time(grant.ended_at)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
