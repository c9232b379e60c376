//! One recorded decision: its outcome and reason, the rules and controls behind it, and the
//! context it was evaluated with.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::api::decisions::get_decision;
use crate::components::common::{Empty, failed, loading};
use crate::error::AppError;
use crate::format;
use crate::model::{ControlRef, DecisionDetail};
use crate::pages::decisions::{AllowBadge, ids};
use crate::pages::identities::urlencode;
use crate::pages::policies::{RuleTable, or_dash};

/// Shows one decision from the decision log.
#[component]
pub fn DecisionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let decision = Resource::new(id, |id| async move {
        let id = id.ok_or_else(|| AppError::not_found("no decision has this id"))?;
        get_decision(id).await
    });
    view! {
        <Title text="Decision"/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match decision.await {
                    Ok(decision) => view! { <Detail decision/> }.into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(decision: DecisionDetail) -> impl IntoView {
    let summary = decision.summary;
    let version = decision
        .policy_version
        .map_or_else(|| "—".to_owned(), |number| number.to_string());
    let errors = if decision.errors.is_empty() {
        view! { <Empty text="No evaluation errors."/> }.into_any()
    } else {
        view! {
            <ul class="problems">
                {decision.errors.into_iter().map(|error| view! { <li>{error}</li> }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <div class="page-head">
            <h1>"Decision " <AllowBadge allow=summary.allow/></h1>
            <div class="actions"><a href="/decisions">"All decisions"</a></div>
        </div>
        <dl class="facts">
            <dt>"Time"</dt><dd>{format::time(summary.decided_at)}</dd>
            <dt>"Client"</dt><dd>{summary.client}</dd>
            <dt>"Principal"</dt><dd><code>{summary.principal}</code></dd>
            <dt>"Action"</dt><dd><code>{summary.action}</code></dd>
            <dt>"Resource"</dt><dd><code>{summary.resource}</code></dd>
            <dt>"Outcome"</dt><dd><AllowBadge allow=summary.allow/></dd>
            <dt>"Reason"</dt><dd class="reason">{or_dash(&decision.reason)}</dd>
            <dt>"Policies"</dt><dd><code>{ids(&summary.policies)}</code></dd>
            <dt>"Policy version"</dt><dd>{version}</dd>
            <dt>"Policy hash"</dt><dd><code>{or_dash(&decision.policy_hash)}</code></dd>
            <dt>"Latency"</dt><dd>{format!("{} µs", summary.latency_us)}</dd>
            <dt>"Id"</dt><dd><code>{summary.id.to_string()}</code></dd>
        </dl>
        <section>
            <h2>"Errors"</h2>
            {errors}
        </section>
        <section>
            <h2>"Determining rules"</h2>
            <RuleTable rules=decision.rules/>
        </section>
        <section>
            <h2>"Controls"</h2>
            <ControlTable controls=decision.controls/>
        </section>
        <section>
            <h2>"Context"</h2>
            <pre class="json">{decision.context}</pre>
        </section>
    }
}

#[component]
fn ControlTable(controls: Vec<ControlRef>) -> impl IntoView {
    if controls.is_empty() {
        return view! { <Empty text="The determining rules map to no controls."/> }.into_any();
    }
    view! {
        <table class="list controls">
            <thead>
                <tr>
                    <th>"Control"</th>
                    <th>"Framework"</th>
                    <th>"Title"</th>
                </tr>
            </thead>
            <tbody>
                {controls
                    .into_iter()
                    .map(|control| {
                        let href = format!("/decisions?control={}", urlencode(&control.id));
                        view! {
                            <tr>
                                <td>
                                    <a href=href title="Show decisions under this control">
                                        <code>{control.id}</code>
                                    </a>
                                </td>
                                <td>{control.framework}</td>
                                <td>{control.title}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
