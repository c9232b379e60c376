//! Compiling policy sets: the shipped schema and defaults, diagnostics with positions, and the
//! annotation rules.

use policy::{Diagnostic, Effect, Engine};

fn diagnostics(source: &str) -> Vec<Diagnostic> {
    match Engine::compile(source) {
        Ok(_) => panic!("expected diagnostics for:\n{source}"),
        Err(diagnostics) => diagnostics,
    }
}

#[test]
fn default_policies_compile() {
    let engine = Engine::compile(policy::default_policies()).expect("the default policies compile");
    let ids: Vec<&str> = engine
        .policies()
        .iter()
        .map(|info| info.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "baseline-active-identities",
            "risk-score-limit",
            "crown-jewel-managed-device",
            "elevated-needs-grant",
            "ai-agent-declared-intent",
            "geo-allowed-countries",
        ]
    );
    assert_eq!(engine.policies()[0].effect, Effect::Permit);
    assert!(
        engine.policies()[1..]
            .iter()
            .all(|info| info.effect == Effect::Forbid)
    );
    assert!(
        engine
            .policies()
            .iter()
            .all(|info| !info.description.is_empty())
    );
}

#[test]
fn schema_text_is_cedar_schema() {
    let (schema, _warnings) = cedar_policy::Schema::from_cedarschema_str(policy::schema_text())
        .expect("the schema parses");
    let actions: Vec<String> = schema.actions().map(ToString::to_string).collect();
    for action in [
        "read", "write", "delete", "execute", "deploy", "admin", "elevated",
    ] {
        let uid = format!("Writ::Action::\"{action}\"");
        assert!(actions.contains(&uid), "{uid} missing from {actions:?}");
    }
}

#[test]
fn hash_is_sha256_of_source() {
    let engine = Engine::compile(policy::default_policies()).unwrap();
    assert_eq!(engine.hash().len(), 64);
    assert!(engine.hash().chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(engine.source(), policy::default_policies());

    let edited = format!("{}\n", policy::default_policies());
    let other = Engine::compile(&edited).unwrap();
    assert_ne!(engine.hash(), other.hash());
}

#[test]
fn empty_hash_matches_known_digest() {
    let engine = Engine::compile("").expect("an empty set compiles");
    assert_eq!(
        engine.hash(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert!(engine.policies().is_empty());
}

#[test]
fn parse_error_has_position() {
    let source =
        "@id(\"a\")\n@description(\"b\")\npermit (principal, action, resource)\nwhen { 1 + };\n";
    let found = diagnostics(source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].line, found[0].column), (4, 12));
    assert!(
        found[0].message.contains("unexpected token"),
        "{}",
        found[0].message
    );
}

#[test]
fn validation_error_has_position() {
    let source = "@id(\"a\")\n@description(\"b\")\npermit (principal, action, resource)\nwhen {\n  principal.nickname == \"x\"\n};\n";
    let found = diagnostics(source);
    assert!(!found.is_empty());
    for diagnostic in &found {
        assert_eq!((diagnostic.line, diagnostic.column), (5, 3), "{diagnostic}");
        assert!(diagnostic.message.contains("nickname"), "{diagnostic}");
        assert!(!diagnostic.message.contains("policy0"), "{diagnostic}");
    }
}

#[test]
fn unguarded_optional_attribute_is_rejected() {
    let source = "@id(\"a\")\n@description(\"b\")\nforbid (principal, action, resource)\nwhen { !context.device.managed };\n";
    let found = diagnostics(source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].line, 4);
    assert!(
        found[0].message.contains("context has device"),
        "{}",
        found[0].message
    );
}

#[test]
fn unknown_action_is_rejected() {
    let source = "@id(\"a\")\n@description(\"b\")\npermit (principal, action == Writ::Action::\"launch\", resource);\n";
    let found = diagnostics(source);
    assert!(!found.is_empty());
    assert_eq!(found[0].line, 3);
}

#[test]
fn missing_id_is_reported_at_policy() {
    let source = "@id(\"a\")\n@description(\"b\")\npermit (principal, action, resource);\n\n@description(\"c\")\nforbid (principal, action, resource) when { false };\n";
    let found = diagnostics(source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].line, found[0].column), (5, 1));
    assert!(found[0].message.contains("@id"), "{}", found[0].message);
}

#[test]
fn empty_id_is_rejected() {
    let source = "@id(\"\")\n@description(\"b\")\npermit (principal, action, resource);\n";
    let found = diagnostics(source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.contains("@id"), "{}", found[0].message);
}

#[test]
fn missing_description_is_reported() {
    let source = "\n  @id(\"a\")\n  permit (principal, action, resource);\n";
    let found = diagnostics(source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].line, found[0].column), (2, 3));
    assert!(
        found[0].message.contains("@description"),
        "{}",
        found[0].message
    );
}

#[test]
fn duplicate_id_is_reported_at_second_use() {
    let source = "@id(\"same\")\n@description(\"b\")\npermit (principal, action, resource);\n@id(\"same\")\n@description(\"c\")\nforbid (principal, action, resource) when { false };\n";
    let found = diagnostics(source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].line, found[0].column), (4, 1));
    assert!(found[0].message.contains("line 1"), "{}", found[0].message);
}

#[test]
fn template_is_rejected() {
    let source =
        "@id(\"a\")\n@description(\"b\")\npermit (principal == ?principal, action, resource);\n";
    let found = diagnostics(source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].line, 1);
    assert!(
        found[0].message.contains("templates"),
        "{}",
        found[0].message
    );
}

#[test]
fn all_problems_are_reported_together() {
    let source = "permit (principal, action, resource);\n@id(\"b\")\n@description(\"c\")\nforbid (principal, action, resource) when { principal.nickname == \"x\" };\n";
    let found = diagnostics(source);
    let lines: Vec<u32> = found.iter().map(|diagnostic| diagnostic.line).collect();
    assert!(lines.contains(&1), "{found:?}");
    assert!(lines.contains(&4), "{found:?}");
    assert!(
        lines.windows(2).all(|pair| pair[0] <= pair[1]),
        "sorted: {found:?}"
    );
}

#[test]
fn columns_count_characters() {
    let source = "// Zugriff für alle\n@id(\"ä\") @description(\"ü\") permit (principal, action, resource) when { principal.spitzname };\n";
    let found = diagnostics(source);
    assert!(!found.is_empty());
    // `principal.spitzname` starts after 71 characters on line 2, though more bytes precede it.
    assert_eq!((found[0].line, found[0].column), (2, 72), "{found:?}");
}

#[test]
fn engine_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
}

#[test]
fn documented_examples_compile() {
    // The examples in docs/policies.md under "Writing a policy".
    let source = r#"
@id("deploy-needs-mfa")
@description("Forbids deploy without multi-factor authentication.")
forbid (principal, action == Writ::Action::"deploy", resource)
unless { context has mfa && context.mfa };

@id("no-weekend-admin-on-crown-jewels")
@description("Forbids admin on crown_jewel resources on Saturdays and Sundays (UTC).")
forbid (principal, action == Writ::Action::"admin", resource)
when {
  resource.sensitivity_level == 4 &&
  context has time && context.time.weekday >= 6
};
"#;
    let engine = Engine::compile(source).expect("the documented examples compile");
    assert_eq!(engine.policies().len(), 2);
}

#[test]
fn documented_diagnostics() {
    let source = "@id(\"a\")\n@description(\"b\")\nforbid (principal, action, resource)\nwhen { !context.device.managed };\n@id(\"c\")\n@description(\"d\")\npermit (principal, action, resource) when {\n  principal.nickname == \"x\"\n};\npermit (principal, action, resource);\n";
    let found: Vec<String> = diagnostics(source)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(
        found[0].starts_with(
            "4:9: unable to guarantee safety of access to optional attribute `device`"
        ),
        "{found:?}"
    );
    assert!(
        found[1].starts_with("8:3: attribute `nickname` on entity type"),
        "{found:?}"
    );
    assert!(
        found[2].starts_with("10:1: policy has no @id annotation"),
        "{found:?}"
    );
    assert!(
        found[3].starts_with("10:1: policy has no @description annotation"),
        "{found:?}"
    );
}
