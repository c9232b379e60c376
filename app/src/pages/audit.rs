//! The audit log: filters, the event table and keyset pagination.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::api::admin::list_audit;
use crate::components::common::{Badge, Empty, Pager, failed, loading};
use crate::format;
use crate::model::{AuditEvent, AuditFilter, Outcome};
use crate::pages::identities::urlencode;

/// Query keys the filter form sets, in the order the pager repeats them.
const FILTER_KEYS: [&str; 4] = ["action", "subject_id", "outcome", "actor_id"];

/// Lists audit events, newest first. The filter form is a plain GET form, so it works without
/// JavaScript.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || filter_from(&query.read());
    let cursor = move || query.read().get("cursor");
    let page = Resource::new(
        move || (filter(), cursor()),
        |(filter, cursor)| list_audit(filter, cursor),
    );
    let base = move || base_url(&query.read());
    view! {
        <Title text="Audit log"/>
        <h1>"Audit log"</h1>
        <FilterForm filter=filter() actor_text=query.read().get("actor_id").unwrap_or_default()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let page = match page.await {
                    Ok(page) => page,
                    Err(error) => return failed(error),
                };
                if page.items.is_empty() {
                    return view! { <Empty text="No audit events match."/> }.into_any();
                }
                view! {
                    <table class="list audit">
                        <thead>
                            <tr>
                                <th>"Time"</th>
                                <th>"Actor"</th>
                                <th>"Action"</th>
                                <th>"Outcome"</th>
                                <th>"Subject"</th>
                                <th>"Reason"</th>
                                <th>"Source"</th>
                                <th>"Details"</th>
                                <th title="OWASP NHI Top 10 (2025), NIST CSF 2.0 and NIST AI RMF 1.0 controls this event is evidence for">"Controls"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {page.items.into_iter().map(|event| view! { <EventRow event/> }).collect_view()}
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
fn FilterForm(filter: AuditFilter, actor_text: String) -> impl IntoView {
    let outcome = filter.outcome;
    let actor_text_is_empty = actor_text.trim().is_empty();
    view! {
        <form method="get" action="/audit" class="filters">
            <input type="text" name="action" placeholder="Action, such as request.approved"
                value=filter.action.clone().unwrap_or_default()/>
            <input type="text" name="subject_id" placeholder="Subject id"
                value=filter.subject_id.clone().unwrap_or_default()/>
            <select name="outcome">
                <option value="">"Any outcome"</option>
                {Outcome::ALL.iter().map(|option| view! {
                    <option value=option.as_str() selected=outcome == Some(*option)>{option.label()}</option>
                }).collect_view()}
            </select>
            <input type="text" name="actor_id" placeholder="Actor's user id" value=actor_text/>
            <button type="submit">"Filter"</button>
            <a href="/audit">"Clear"</a>
        </form>
        {(filter.actor_id.is_none() && !actor_text_is_empty).then(|| view! {
            <p class="hint">"The actor id is not a valid user id, so the list is not filtered by actor."</p>
        })}
    }
}

#[component]
fn EventRow(event: AuditEvent) -> impl IntoView {
    let actor = match event.actor_id {
        Some(actor_id) => {
            let href = format!("/audit?actor_id={actor_id}");
            view! { <a href=href title="Show this actor's events">{event.actor_label.clone()}</a> }
                .into_any()
        }
        None => event.actor_label.clone().into_any(),
    };
    let subject_id = match subject_href(&event.subject_type, &event.subject_id) {
        Some(href) => view! { <a href=href><code>{event.subject_id.clone()}</code></a> }.into_any(),
        None => view! { <code>{event.subject_id.clone()}</code> }.into_any(),
    };
    let details = details_text(&event.details);
    view! {
        <tr>
            <td class="nowrap">{format::time(event.occurred_at)}</td>
            <td>{actor}</td>
            <td><code>{event.action.clone()}</code></td>
            <td><Badge kind=event.outcome.as_str() text=event.outcome.label()/></td>
            <td>{event.subject_type.replace('_', " ")} " " {subject_id}</td>
            <td class="reason">{event.reason.clone()}</td>
            <td>{event.source.label()}</td>
            <td>{details.map(|text| view! { <code class="details">{text}</code> })}</td>
            <td class="controls">{event.controls.join(", ")}</td>
        </tr>
    }
}

/// Reads the filter from the page's query string, ignoring an invalid outcome or actor id.
fn filter_from(query: &ParamsMap) -> AuditFilter {
    let text = |key: &str| {
        query
            .get(key)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    AuditFilter {
        action: text("action"),
        actor_id: text("actor_id").and_then(|actor| actor.parse().ok()),
        subject_id: text("subject_id"),
        outcome: text("outcome").and_then(|outcome| outcome.parse().ok()),
    }
}

/// Builds the current list URL without its cursor, for the pager.
fn base_url(query: &ParamsMap) -> String {
    let pairs: Vec<String> = FILTER_KEYS
        .iter()
        .filter_map(|key| {
            query
                .get(key)
                .filter(|value| !value.is_empty())
                .map(|value| format!("{key}={}", urlencode(&value)))
        })
        .collect();
    if pairs.is_empty() {
        "/audit".to_owned()
    } else {
        format!("/audit?{}", pairs.join("&"))
    }
}

/// Returns the console page of an audited subject, for the subject types that have one.
fn subject_href(subject_type: &str, subject_id: &str) -> Option<String> {
    if uuid::Uuid::parse_str(subject_id).is_err() {
        return None;
    }
    match subject_type {
        "identity" => Some(format!("/identities/{subject_id}")),
        "access_request" => Some(format!("/requests/{subject_id}")),
        "resource" => Some(format!("/resources/{subject_id}")),
        _ => None,
    }
}

/// Returns the details as one line of JSON, or `None` when there are none.
fn details_text(details: &serde_json::Value) -> Option<String> {
    match details {
        serde_json::Value::Null => None,
        serde_json::Value::Object(map) if map.is_empty() => None,
        value => Some(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&'static str, &str)]) -> ParamsMap {
        let mut map = ParamsMap::new();
        for (key, value) in pairs {
            map.insert(*key, (*value).to_owned());
        }
        map
    }

    #[test]
    fn filter_ignores_invalid_values() {
        let filter = filter_from(&query(&[
            ("action", " request.approved "),
            ("outcome", "maybe"),
            ("actor_id", "not-a-uuid"),
            ("subject_id", ""),
        ]));
        assert_eq!(filter.action.as_deref(), Some("request.approved"));
        assert_eq!(filter.outcome, None);
        assert_eq!(filter.actor_id, None);
        assert_eq!(filter.subject_id, None);
    }

    #[test]
    fn pager_keeps_filters_and_drops_cursor() {
        let url = base_url(&query(&[
            ("outcome", "refused"),
            ("subject_id", "csv"),
            ("cursor", "abc"),
        ]));
        assert_eq!(url, "/audit?subject_id=csv&outcome=refused");
    }

    #[test]
    fn subject_links_only_known_pages() {
        let id = "6f1c2a94-5f4e-4d7b-9a51-0c1f2e3d4b5a";
        assert_eq!(
            subject_href("access_request", id),
            Some(format!("/requests/{id}"))
        );
        assert_eq!(subject_href("grant", id), None);
        assert_eq!(subject_href("identity", "csv"), None);
    }

    #[test]
    fn details_are_compact() {
        let details = serde_json::json!({ "rows": 3 });
        assert_eq!(details_text(&details).as_deref(), Some(r#"{"rows":3}"#));
        assert_eq!(details_text(&serde_json::json!({})), None);
    }
}
